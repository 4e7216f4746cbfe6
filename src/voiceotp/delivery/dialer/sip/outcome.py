"""From a carrier's final response to our status: the SIP code, refined by its Q.850 cause.

PSTN gateways map ISDN causes to SIP codes (RFC 3398) and lose detail on the way: a
callee who rejects the call (cause 21) arrives as 403, a busy line behind some gateways
as 480 or 503 (cause 17). Most carriers copy the original cause into a ``Reason:
Q.850;cause=N`` header (RFC 3326); when it names a cause of the outcome table it decides
the status, otherwise the SIP code does and the carrier's cause is still recorded.

Whether a failed call may be placed again through another trunk is decided here too
(:func:`failover_reason`): only when the call provably never reached the callee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voiceotp.delivery.dialer.base import (
    OUTCOME_TABLE,
    CallOutcome,
    CallStatus,
    canonical_row,
    outcome_for_sip,
)
from voiceotp.delivery.dialer.sip.message import SipMessage, header_params
from voiceotp.protocol import mask_mobile

__all__ = [
    "CallProgress",
    "failover_reason",
    "failure_detail",
    "failure_status",
    "q850_cause",
]

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


@dataclass
class CallProgress:
    """What the far end told us of a call beyond its final answer (kept by ``call.py``)."""

    responses: int = 0  # responses of any kind to our INVITEs
    tagged_provisional: bool = False  # a 101-199 with a To tag: a dialog, a callee side
    provisional: bool = False  # any 101-199, tag or not (a trunk that omits the tag)
    early_media: bool = False  # a provisional with SDP: the callee may have heard something
    answered: bool = False  # a 2xx
    final_cause: int | None = None  # the Q.850 cause of the last 3xx-6xx's Reason header

    def saw(self, response: SipMessage) -> None:
        """Note a response to one of our INVITEs."""
        self.responses += 1
        if 100 < response.status < 200:
            self.provisional = True
            self.tagged_provisional |= "tag" in header_params(response.get("To"))
            self.early_media |= bool(response.body)
        elif 200 <= response.status < 300:
            self.answered = True
        elif response.status >= 300:
            self.final_cause = q850_cause(response)


# Finals that say "this trunk could not take the call", not "the callee said no": the
# trunk's own failure (500, 503), its gateways' (502, 504), its timeout (408), or its
# refusal of our credentials (401/407 left after our one answer to the challenge).
TRUNK_FAILURES = frozenset({401, 407, 408, 500, 502, 503, 504})
# Q.850 causes of the network rather than of the callee (RFC 3398 §7.2.4.1 mapping
# table, ITU-T Q.850 classes 010/011): a 503 carrying cause 17 (user busy) or 1
# (unallocated number) is the callee's answer, and never failed over.
NETWORK_CAUSES = frozenset({34, 38, 41, 42, 44, 47, 58, 63, 102, 111, 127})


def failover_reason(outcome: CallOutcome, progress: CallProgress) -> str | None:
    """Why ``outcome`` may be tried on another trunk, or ``None`` when it may not.

    Only when the call provably did not reach the callee: no tagged provisional (nor any
    101-199 at all: stricter than the To tag rule), no early media, no answer, not
    cancelled or expired by us; and either no response at all (Timer B, ICMP refusal,
    name not resolved, nothing dialed) or a final of the trunk itself
    (:data:`TRUNK_FAILURES`) whose ``Reason`` Q.850 cause, if any, is a network cause. A
    486, 603, 404 or 480 is the callee's (or its network's) answer: dialing again could
    ring the same phone twice.
    """
    if progress.answered or progress.provisional or progress.early_media:
        return None  # 180/183 without a To tag too: a careless trunk's "ringing" still rings
    if outcome.status not in (CallStatus.FAILED, CallStatus.NO_ANSWER):
        return None
    if outcome.sip_code is None:
        return "no response" if progress.responses == 0 else None
    if outcome.sip_code not in TRUNK_FAILURES:
        return None
    if progress.final_cause is not None and progress.final_cause not in NETWORK_CAUSES:
        return None
    return f"trunk answered {outcome.sip_code}"
