"""Failover between the resolved targets of one trunk (RFC 3263 §4.3), sans I/O.

A call moves to the trunk's next target only when the INVITE provably went nowhere: a
transport error (connection refused, ICMP unreachable, TLS handshake or certificate
refused, connection lost), no response at all before Timer B (or ``target_timeout_s``),
or a 503 from the target itself whose Q.850 cause, if any, is a network one (a 503 with
cause 17 is a busy callee). Never once any 101-199 came, with or without a To-tag, nor
early media or an answer: the rule of :func:`~voiceotp.delivery.dialer.sip.outcome.
failover_reason` (trunk failover), read from the same :class:`CallProgress`. A 100
Trying is the target's own hop, which may still give up with a 503.

A target that failed so is put at the end of the list for the next calls during
``BLOCK_S`` (the others are tried first), so that each call does not pay for a dead
node again; it is not dropped, in case it is the only one left.

Failover between *trunks* (several trunks, their health) is the trunk selector's; this
is only about the addresses one trunk's name resolved to.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from voiceotp.delivery.dialer.sip.dialog import CallLeg
from voiceotp.delivery.dialer.sip.message import SipMessage, header_params
from voiceotp.delivery.dialer.sip.outcome import NETWORK_CAUSES, CallProgress, q850_cause
from voiceotp.delivery.dialer.sip.resolve import Target

__all__ = ["BLOCK_S", "TargetFailover", "TargetHealth", "leftover_replies", "may_fail_over"]

BLOCK_S = 60.0


def may_fail_over(final: SipMessage | None, progress: CallProgress) -> bool:
    """Whether an INVITE that ended with ``final`` (``None``: a transport error or no
    response) may be sent to the next target, given what the call heard so far."""
    if progress.answered or progress.provisional or progress.early_media:
        return False
    if final is None:
        return True
    cause = q850_cause(final)
    return final.status == 503 and (cause is None or cause in NETWORK_CAUSES)


def leftover_replies(leg: CallLeg, response: SipMessage) -> list[SipMessage]:
    """What to send back to a response of an INVITE of ours outside the dialog we are in
    (``leg.to_tag``): a node left silent past ``target_timeout_s`` may reach the callee
    after all. Its 101-199 is CANCELed, its 2xx ACKed and BYEd (RFC 3261 §13.2.2.4, as
    a forked answer), a failure ACKed (§17.1.1.3): the callee never keeps a second call."""
    if response.is_request or response.cseq[1] != "INVITE" or response.status == 100:
        return []
    tag = header_params(response.get("To")).get("tag", "")
    if leg.to_tag and tag == leg.to_tag:
        return []  # ours: the call re-ACKs it
    other = replace(leg, to_tag="", route_set=[])  # the INVITE had no route set yet
    headers = [("Via", response.get("Via")), ("CSeq", response.get("CSeq"))]
    invite = SipMessage(method="INVITE", uri=leg.target_uri or leg.request_uri, headers=headers)
    if response.status < 200:
        return [other.cancel(invite)]
    if response.status >= 300:
        return [other.ack_failure(invite, response)]
    other.confirm(response)
    return [other.ack_success(invite), other.bye()]


@dataclass
class TargetHealth:
    """Which of a dialer's targets failed lately (loop time until they count again)."""

    down_until: dict[Target, float] = field(default_factory=dict)

    def failed(self, target: Target, now: float) -> None:
        self.down_until[target] = now + BLOCK_S

    def ordered(self, targets: tuple[Target, ...], now: float) -> tuple[Target, ...]:
        """``targets`` with the lately failed ones last (each group keeps its order)."""
        down = {t for t, until in self.down_until.items() if until > now}
        return tuple(sorted(targets, key=lambda t: t in down))


@dataclass
class TargetFailover:
    """Which of the trunk's targets a call is on, and whether it may move on."""

    targets: tuple[Target, ...]
    index: int = 0

    @property
    def has_next(self) -> bool:
        return self.index + 1 < len(self.targets)

    def next_after(self, final: SipMessage | None, progress: CallProgress) -> Target | None:
        """The next target to INVITE after ``final``, or ``None`` (stay with ``final``)."""
        if not self.has_next or not may_fail_over(final, progress):
            return None
        self.index += 1
        return self.targets[self.index]
