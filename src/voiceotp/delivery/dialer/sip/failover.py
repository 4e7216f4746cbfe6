"""Failover between the resolved targets of one trunk (RFC 3263 §4.3), sans I/O.

A call moves to the trunk's next target only when the INVITE provably went nowhere: a
transport error (connection refused, ICMP unreachable, TLS handshake or certificate
refused, connection lost), no response at all before Timer B, or a 503 from the target
itself. Never once a provisional with a To-tag came (the callee's side has the call:
it may be ringing) and never after any other final (it is the answer). A 100 Trying
carries no To-tag: it is the target's own hop, which may still give up with a 503.

A target that failed so is put at the end of the list for the next calls during
``BLOCK_S`` (the others are tried first), so that each call does not pay for a dead
node again; it is not dropped, in case it is the only one left.

Failover between *trunks* (several trunks, their health) is the trunk selector's; this
is only about the addresses one trunk's name resolved to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voiceotp.delivery.dialer.sip.message import SipMessage, header_params
from voiceotp.delivery.dialer.sip.resolve import Target

__all__ = ["BLOCK_S", "TargetFailover", "TargetHealth", "may_fail_over"]

BLOCK_S = 60.0


def may_fail_over(final: SipMessage | None) -> bool:
    """Whether an INVITE that ended so may be sent to the next target (``None``: no
    final, i.e. a transport error or Timer B)."""
    return final is None or final.status == 503


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
    reached: bool = False  # a 1xx with a To-tag came: the call is past the trunk's edge

    def note(self, provisional: SipMessage) -> None:
        """Feed each provisional response of the INVITE."""
        if provisional.status < 200 and header_params(provisional.get("To")).get("tag"):
            self.reached = True

    @property
    def has_next(self) -> bool:
        return self.index + 1 < len(self.targets)

    def next_after(self, final: SipMessage | None) -> Target | None:
        """The next target to INVITE after ``final``, or ``None`` (stay with ``final``)."""
        if self.reached or not may_fail_over(final) or self.index + 1 >= len(self.targets):
            return None
        self.index += 1
        return self.targets[self.index]
