"""Trunk health from OPTIONS pings: a trunk that stops answering is taken out, and put back.

Every ``options_interval_s`` the dialer sends an out-of-dialog ``OPTIONS`` to each trunk
(a non-INVITE transaction: Timer E retransmissions, over UDP) and waits
``options_timeout_s`` for a final response. ``down_after`` misses in a row take the trunk
out of the rotation, ``up_after`` answers in a row put it back; a trunk starts up, so
calls do not wait for the first ping.

What counts as an answer: any final response proves the trunk's SIP stack is alive (RFC
3261 §11: a 404, 405 or 401/407 is still an answer), **except 503**: a proxy answers 503
when it cannot route anything now (overload, maintenance; RFC 3261 §21.5.4), and RFC 3263
§4.3 treats a 503 as the failure of that element. A timeout, an ICMP refusal or a 503 is a
miss. A 1xx to OPTIONS only slows the retransmissions (Timer E at T2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.dialog import via_value
from voiceotp.delivery.dialer.sip.icmp import Refusal
from voiceotp.delivery.dialer.sip.message import SipMessage, new_branch, new_tag
from voiceotp.delivery.dialer.sip.stream import transport_uri
from voiceotp.delivery.dialer.sip.transaction import NonInviteTransaction
from voiceotp.delivery.dialer.sip.transport import Address, SipTransport

__all__ = ["OptionsPinger", "TrunkHealth", "options_request", "ping_alive"]

log = logging.getLogger(__name__)


@dataclass
class TrunkHealth:
    """Up/down from a run of ping results (sans I/O)."""

    down_after: int = 3
    up_after: int = 2
    up: bool = True
    misses: int = 0  # in a row
    answers: int = 0  # in a row
    last_error: str = ""

    def record(self, alive: bool, why: str = "") -> bool:
        """Note one ping's result; ``True`` when it changed :attr:`up`."""
        if alive:
            self.misses, self.answers = 0, self.answers + 1
            if not self.up and self.answers >= self.up_after:
                self.up = True
                return True
            return False
        self.answers, self.misses, self.last_error = 0, self.misses + 1, why
        if self.up and self.misses >= self.down_after:
            self.up = False
            return True
        return False


def ping_alive(response: SipMessage | None) -> bool:
    """Whether a final response to OPTIONS (``None``: none came) shows a working trunk."""
    return response is not None and response.status != 503


def options_request(
    trunk: SipTrunk, via_host: str, contact_uri: str, kind: str = "udp"
) -> SipMessage:
    """An out-of-dialog OPTIONS to the trunk (its own Call-ID, CSeq 1) over ``kind``."""
    domain = trunk.sip_domain
    headers = [
        ("Via", via_value(kind.upper(), via_host, new_branch())),
        ("Max-Forwards", "70"),
        ("From", f"<sip:{trunk.from_user}@{domain}>;tag={new_tag()}"),
        ("To", f"<sip:{domain}>"),
        ("Call-ID", secrets.token_hex(12)),
        ("CSeq", "1 OPTIONS"),
        ("Contact", f"<{contact_uri}>"),
        ("Accept", "application/sdp"),
        ("User-Agent", trunk.user_agent),
    ]
    uri = transport_uri("", domain, kind, trunk.uri_scheme)
    return SipMessage(method="OPTIONS", uri=uri, headers=headers)


PingPath = Callable[[], Awaitable[tuple[SipTransport, Address, str, str]]]
OnChange = Callable[[SipTrunk, TrunkHealth], None]


class OptionsPinger:
    """Pings one trunk every ``options_interval_s`` and keeps its :class:`TrunkHealth`."""

    def __init__(self, trunk: SipTrunk, on_change: OnChange) -> None:
        self.trunk = trunk
        self.health = TrunkHealth(trunk.down_after, trunk.up_after)
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None

    def start(self, path: PingPath) -> None:
        """Start pinging; ``path`` is an async callable giving (socket, trunk address, Via
        host, Contact URI), as :meth:`SipDialer.ping_path` does."""
        if self._task is None and self.trunk.options_interval_s > 0:
            self._task = asyncio.create_task(self._run(path), name=f"options-{self.trunk.label}")

    async def _run(self, path: PingPath) -> None:
        while True:
            try:
                transport, address, via_host, contact = await path()
                response, why = await self.ping(transport, address, via_host, contact)
            except OSError as exc:  # the trunk's name no longer resolves, or no socket
                response, why = None, str(exc)
            alive = ping_alive(response)
            if response is not None and not alive:
                why = f"answered {response.status} {response.reason}".strip()
            if self.health.record(alive, why):
                state = "up" if self.health.up else f"down ({why})"
                log.warning("SIP trunk %s is %s", self.trunk.label, state)
                self._on_change(self.trunk, self.health)
            await asyncio.sleep(self.trunk.options_interval_s)

    async def ping(
        self, transport: SipTransport, address: Address, via_host: str, contact: str
    ) -> tuple[SipMessage | None, str]:
        """One OPTIONS transaction: its final response, or ``None`` and why not."""
        request = options_request(self.trunk, via_host, contact, transport.kind)
        inbox: asyncio.Queue[SipMessage | None] = asyncio.Queue()
        refused: list[str] = []

        def on_refused(refusal: Refusal) -> None:
            refused.append(refusal.reason)
            inbox.put_nowait(None)

        transport.register(request.call_id, lambda m, _: inbox.put_nowait(m), on_refused)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.trunk.options_timeout_s
        try:
            tx = NonInviteTransaction(
                request,
                t1=self.trunk.t1_s,
                t2=self.trunk.t2_s,
                send=lambda m: transport.send(m, address),
                now=loop.time(),
                reliable=transport.reliable,
            )
            while tx.final is None and not refused:
                until = min(tx.wake(), give_up)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(until):
                        message = await inbox.get()
                        if message is not None and tx.owns(message):
                            tx.on_response(message)
                if loop.time() >= give_up or tx.on_timer(loop.time()):
                    return None, f"no answer to OPTIONS within {self.trunk.options_timeout_s} s"
        finally:
            transport.unregister(request.call_id)
        if refused:
            return None, f"the network refused OPTIONS ({refused[0]})"
        return tx.final, ""

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
