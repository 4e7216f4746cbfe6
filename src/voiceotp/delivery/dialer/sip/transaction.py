"""Client transactions (RFC 3261 §17.1), as timer state without I/O of their own.

Over a reliable transport (TCP, TLS) nothing is retransmitted (Timers A and E are not
started); Timers B and F still bound the wait.

The owner feeds responses and clock readings in and sleeps until :meth:`wake`; sending
goes through the ``send`` callback. Times are loop (monotonic) seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from voiceotp.delivery.dialer.sip.message import SipMessage

__all__ = ["InviteTransaction", "NonInviteTransaction"]

Send = Callable[[SipMessage], None]


class NonInviteTransaction:
    """CANCEL or BYE: Timer E retransmits at T1 doubling to T2, Timer F gives up at 64·T1."""

    def __init__(
        self,
        request: SipMessage,
        *,
        t1: float,
        t2: float,
        send: Send,
        now: float,
        reliable: bool = False,
    ):
        self.request = request
        self.final: SipMessage | None = None
        self._t2 = t2
        self._send = send
        self._interval = t1
        self._retransmit_at = math.inf if reliable else now + t1
        self._give_up = now + 64 * t1
        send(request)

    def owns(self, response: SipMessage) -> bool:
        return (
            not response.is_request
            and response.branch == self.request.branch
            and response.cseq[1] == self.request.method
        )

    def on_response(self, response: SipMessage) -> None:
        if response.status >= 200:
            self.final = response
        else:  # Proceeding: retransmit at T2 from now on
            self._interval = self._t2

    def wake(self) -> float:
        return math.inf if self.final else min(self._retransmit_at, self._give_up)

    def on_timer(self, now: float) -> bool:
        """Retransmit if due; ``True`` once Timer F has expired without a final."""
        if self.final is not None:
            return False
        if now >= self._give_up:
            return True
        if now >= self._retransmit_at:
            self._send(self.request)
            self._interval = min(2 * self._interval, self._t2)
            self._retransmit_at = now + self._interval
        return False


class InviteTransaction:
    """An INVITE: Timer A retransmits until a provisional arrives, Timer B gives up at 64·T1.

    :meth:`cancel` sends CANCEL at once when a provisional was seen, otherwise as soon as
    one arrives (RFC 3261 §9.1). After a CANCEL the final is awaited for 64·T1.
    """

    def __init__(
        self,
        invite: SipMessage,
        cancel: SipMessage,
        *,
        t1: float,
        t2: float,
        send: Send,
        now: float,
        reliable: bool = False,
        give_up_s: float | None = None,  # sooner than Timer B: another target waits
    ):
        self.invite = invite
        self.reliable = reliable
        self.proceeding = False
        self.cancel_requested = False
        self.canceling: NonInviteTransaction | None = None
        self._cancel_request = cancel
        self._t1, self._t2 = t1, t2
        self._send = send
        self._interval = t1
        self._retransmit_at = math.inf if reliable else now + t1
        self._timer_b = now + (64 * t1 if give_up_s is None else give_up_s)
        self._silence = (
            "no response from the trunk (Timer B)"
            if give_up_s is None
            else f"no response from the trunk in {give_up_s:g} s"
        )
        self._give_up = math.inf
        send(invite)

    def owns(self, response: SipMessage) -> bool:
        return not response.is_request and response.branch == self.invite.branch

    def on_response(self, response: SipMessage, now: float) -> SipMessage | None:
        """Feed a response this transaction owns; returns it when it is the final one."""
        if self.canceling is not None and self.canceling.owns(response):
            self.canceling.on_response(response)
            return None
        if response.cseq[1] != "INVITE":
            return None
        if response.status >= 200:
            return response
        self.proceeding = True
        if self.cancel_requested and self.canceling is None:
            self._send_cancel(now)
        return None

    def cancel(self, now: float) -> None:
        self.cancel_requested = True
        if self.proceeding and self.canceling is None:
            self._send_cancel(now)

    def _send_cancel(self, now: float) -> None:
        self.canceling = NonInviteTransaction(
            self._cancel_request,
            t1=self._t1,
            t2=self._t2,
            send=self._send,
            now=now,
            reliable=self.reliable,
        )
        self._give_up = now + 64 * self._t1

    def wake(self) -> float:
        wake = self._give_up
        if self.canceling is not None:
            wake = min(wake, self.canceling.wake())
        if not self.proceeding:
            wake = min(wake, self._retransmit_at, self._timer_b)
        return wake

    def on_timer(self, now: float) -> str | None:
        """Retransmit what is due; a reason string once the transaction has failed."""
        if self.canceling is not None:
            self.canceling.on_timer(now)
        if now >= self._give_up:
            return "no final response to CANCEL within 64*T1"
        if self.proceeding:
            return None
        if now >= self._timer_b:
            return self._silence
        if now >= self._retransmit_at:
            self._send(self.invite)
            self._interval *= 2
            self._retransmit_at = now + self._interval
        return None
