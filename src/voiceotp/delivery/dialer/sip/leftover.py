"""Late responses from the targets a call left behind, answered as transactions.

:func:`~voiceotp.delivery.dialer.sip.failover.leftover_replies` says what a node left for
its silence gets when it rings (CANCEL) or answers (ACK, then BYE) after all. The ACK is
sent again for each retransmitted 2xx; the CANCEL and the BYE are non-INVITE client
transactions (RFC 3261 §17.1.2): retransmitted on Timer E (T1 doubling to T2, none over
TCP/TLS) until a final response, given up at Timer F (64·T1). A lost CANCEL would leave
the callee's phone ringing, a lost BYE the callee's line up.

The timers run on the event loop, so the transactions outlive the call (and its linger)
that started them; a retransmitted 1xx or 2xx starts no second CANCEL or BYE.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from functools import partial

from voiceotp.delivery.dialer.sip.dialog import CallLeg
from voiceotp.delivery.dialer.sip.failover import leftover_replies
from voiceotp.delivery.dialer.sip.message import SipMessage, header_params
from voiceotp.delivery.dialer.sip.transaction import NonInviteTransaction

__all__ = ["Leftovers"]

log = logging.getLogger(__name__)
Address = tuple[str, int]
Key = tuple[str, str, str]  # the INVITE's branch, the answering To-tag, CANCEL or BYE


class Leftovers:
    """The CANCEL and BYE transactions of one call toward the targets it left."""

    def __init__(
        self,
        leg: CallLeg,
        send: Callable[[SipMessage, Address], None],
        *,
        t1: float,
        t2: float,
        reliable: bool,
    ) -> None:
        self._leg = leg
        self._send = send
        self._t1, self._t2, self._reliable = t1, t2, reliable
        self._transactions: dict[Key, NonInviteTransaction] = {}
        self._timers: dict[Key, asyncio.TimerHandle] = {}

    def answer(self, response: SipMessage, source: Address) -> bool:
        """Take ``response`` if it is a left target's late one or a reply to our CANCEL
        or BYE; ``False`` leaves it to the caller (a response of the call's own dialog)."""
        for key, tx in self._transactions.items():
            if tx.owns(response):
                tx.on_response(response)
                self._schedule(key)
                return True
        replies = leftover_replies(self._leg, response)
        tag = header_params(response.get("To")).get("tag", "")
        for reply in replies:
            key = (response.branch, tag, reply.method)
            if reply.method == "ACK":
                self._send(reply, source)
            elif key not in self._transactions:
                self._transactions[key] = NonInviteTransaction(
                    reply,
                    t1=self._t1,
                    t2=self._t2,
                    send=partial(self._to, source),
                    now=asyncio.get_running_loop().time(),
                    reliable=self._reliable,
                )
                self._schedule(key)
        return bool(replies)

    def _to(self, address: Address, message: SipMessage) -> None:
        self._send(message, address)

    def _schedule(self, key: Key) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        wake = self._transactions[key].wake()
        if math.isfinite(wake):
            self._timers[key] = asyncio.get_running_loop().call_at(wake, self._on_timer, key)

    def _on_timer(self, key: Key) -> None:
        self._timers.pop(key, None)
        tx = self._transactions[key]
        if tx.on_timer(asyncio.get_running_loop().time()):
            log.info("no final response to a %s of a left target (Timer F)", key[2])
            return
        self._schedule(key)
