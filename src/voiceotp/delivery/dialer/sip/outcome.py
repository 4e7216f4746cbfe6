"""From a carrier's final response to our status: the SIP code, refined by its Q.850 cause.

PSTN gateways map ISDN causes to SIP codes (RFC 3398) and lose detail on the way: a
callee who rejects the call (cause 21) arrives as 403, a busy line behind some gateways
as 480 or 503 (cause 17). Most carriers copy the original cause into a ``Reason:
Q.850;cause=N`` header (RFC 3326); when it names a cause of the outcome table it decides
the status, otherwise the SIP code does and the carrier's cause is still recorded.
"""

from __future__ import annotations

import re

from voiceotp.delivery.dialer.base import OUTCOME_TABLE, CallStatus, canonical_row, outcome_for_sip
from voiceotp.delivery.dialer.sip.message import SipMessage, header_params
from voiceotp.protocol import mask_mobile

__all__ = ["failure_detail", "failure_status", "q850_cause"]

_NUMBER = re.compile(r"\+?\d{7,}")

# Causes may decide only refusals: a cause 16 ("normal clearing") on a 4xx is a carrier
# quirk, not an answer, and CANCELED is ours to say.
_REFUSALS = (CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.REJECTED, CallStatus.FAILED)
_STATUS_BY_CAUSE = {
    row.q850: row.status
    for row in reversed(OUTCOME_TABLE)  # first row wins, as for SIP codes
    if row.q850 is not None and row.status in _REFUSALS
}


def q850_cause(message: SipMessage) -> int | None:
    """The cause of the first ``Reason: Q.850;cause=N`` value, if any."""
    for value in message.get_all("Reason"):
        protocol = value.split(";", 1)[0].strip().upper()
        cause = header_params(value).get("cause", "")
        if protocol == "Q.850" and cause.isdigit():
            return int(cause)
    return None


def failure_detail(final: SipMessage) -> str:
    """``"404 Not Found"``, phone numbers masked: some carriers echo the number dialed."""
    text = f"{final.status} {final.reason}".strip()
    return _NUMBER.sub(lambda m: mask_mobile(m.group()), text)


def failure_status(
    final: SipMessage, cancel_reason: CallStatus | None
) -> tuple[CallStatus, int | None]:
    """Status and Q.850 cause for a 3xx-6xx final response to our INVITE."""
    if final.status == 487 and cancel_reason is CallStatus.CANCELED:
        return CallStatus.CANCELED, canonical_row(CallStatus.CANCELED).q850
    status, q850 = outcome_for_sip(final.status)
    cause = q850_cause(final)
    if cause is None or (final.status == 487 and cancel_reason is not None):
        return status, q850  # when we cancelled, that (not the carrier's cause) is why
    return _STATUS_BY_CAUSE.get(cause, status), cause
