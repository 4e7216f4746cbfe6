"""Registering the gateway with the trunk's registrar (RFC 3261 §10.2), and keeping it so.

Some trunks take calls only from a registered user. With ``SipTrunk.register`` the dialer
REGISTERs when it starts (a 401/407 answered with the trunk's credentials, a 423 with
its ``Min-Expires``), refreshes at half the Expires the registrar granted, retries a
failure with exponential backoff (logged; calls are still placed meanwhile: the trunk
decides), and removes its binding (``Expires: 0``, our Contact only — ``*`` would also
remove other gateway processes registered under the same account) on a clean stop.
All REGISTERs share one Call-ID with rising CSeq (§10.2.4), so the registrar sees
refreshes of one binding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum

from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.dialog import via_value
from voiceotp.delivery.dialer.sip.digest import answer_challenge, parse_challenge
from voiceotp.delivery.dialer.sip.message import (
    SipMessage,
    header_params,
    new_branch,
    new_tag,
    uri_of,
)
from voiceotp.delivery.dialer.sip.outcome import failure_detail
from voiceotp.delivery.dialer.sip.transaction import NonInviteTransaction
from voiceotp.delivery.dialer.sip.transport import Address, SipTransport
from voiceotp.errors import DigestError

__all__ = [
    "RegisterLeg",
    "Registration",
    "RegistrationState",
    "granted_expires",
    "register_backoff",
]

log = logging.getLogger(__name__)
BACKOFF_CAP_S = 600.0


class RegistrationState(StrEnum):
    OFF = "off"  # the trunk needs no registration
    REGISTERING = "registering"  # first attempt under way
    REGISTERED = "registered"  # the last REGISTER was accepted
    FAILED = "failed"  # the last REGISTER failed; retrying with backoff
    UNREGISTERED = "unregistered"  # the dialer stopped and removed its binding


@dataclass
class RegisterLeg:
    """Builds the REGISTER requests of one binding (sans I/O)."""

    request_uri: str  # sip:<domain>
    aor: str  # sip:<user>@<domain>: From and To
    contact_uri: str
    via_host: str
    user_agent: str = "voiceotp"
    via_transport: str = "UDP"
    call_id: str = field(default_factory=lambda: secrets.token_hex(12))
    from_tag: str = field(default_factory=new_tag)
    cseq: int = 0

    def register(self, expires: int, *, auth: tuple[str, str] | None = None) -> SipMessage:
        """The next REGISTER (new branch, CSeq + 1) asking for ``expires`` seconds."""
        self.cseq += 1
        headers = [
            ("Via", via_value(self.via_transport, self.via_host, new_branch())),
            ("Max-Forwards", "70"),
            ("From", f"<{self.aor}>;tag={self.from_tag}"),
            ("To", f"<{self.aor}>"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} REGISTER"),
            ("Contact", f"<{self.contact_uri}>"),
            ("Expires", str(expires)),
            ("User-Agent", self.user_agent),
        ]
        if auth is not None:
            headers.append(auth)
        return SipMessage(method="REGISTER", uri=self.request_uri, headers=headers)


def granted_expires(response: SipMessage, contact_uri: str, requested: int) -> int:
    """Seconds the registrar keeps our binding: our Contact's ``expires``, else the
    ``Expires`` header, else what we asked for (§10.2.4)."""
    for value in response.get_all("Contact"):
        expires = header_params(value).get("expires", "")
        if uri_of(value) == contact_uri and expires.isdigit():
            return int(expires)
    expires = response.get("Expires").strip()
    return int(expires) if expires.isdigit() else requested


def register_backoff(failures: int, base_s: float, rand: float) -> float:
    """Seconds before attempt ``failures + 1``: base doubling to 10 min, minus up to half
    of it (``rand`` in [0, 1)) so that many gateways do not retry in step."""
    delay = min(BACKOFF_CAP_S, base_s * 2.0 ** max(0, failures - 1))
    return delay * (1 - 0.5 * rand)


class Registration:
    """Keeps one binding at the registrar while the dialer runs."""

    def __init__(
        self, trunk: SipTrunk, transport: SipTransport, registrar: Address, leg: RegisterLeg
    ) -> None:
        self.trunk = trunk
        self.transport = transport
        self.registrar = registrar
        self.leg = leg
        self.state = RegistrationState.REGISTERING
        self.expires_at: float | None = None  # Unix time the binding lapses
        self.last_error = ""
        self.failures = 0
        self._inbox: asyncio.Queue[SipMessage] = asyncio.Queue()
        self._tried = asyncio.Event()  # the first attempt is over
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.transport.register(self.leg.call_id, self._deliver)
        self._task = asyncio.get_running_loop().create_task(self._keep(), name="sip-register")

    def _deliver(self, message: SipMessage, source: Address) -> None:
        self._inbox.put_nowait(message)

    async def first_attempt(self) -> None:
        """Wait until the first REGISTER succeeded or failed."""
        await self._tried.wait()

    async def aclose(self) -> None:
        """Stop refreshing; remove our binding if we hold one."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # also after a failed refresh: the binding lives until it expires
        held = self.expires_at is not None and self.expires_at > time.time()
        if held and await self._register(0) is not None:
            self.state, self.expires_at = RegistrationState.UNREGISTERED, None
        self.transport.unregister(self.leg.call_id)

    async def _keep(self) -> None:
        try:
            await self._refresh_forever()
        finally:  # stopped before the first answer: calls waiting for it go on
            self._tried.set()

    async def _refresh_forever(self) -> None:
        while True:
            granted = await self._register(self.trunk.register_expires)
            self._tried.set()
            if granted is not None:
                self.failures = 0
                delay = granted / 2  # refresh well before the binding lapses
            else:
                self.failures += 1
                delay = register_backoff(
                    self.failures, self.trunk.register_retry_s, random.random()
                )
                log.warning(
                    "SIP registration at %s:%s failed (%s); retrying in %.1f s",
                    *self.registrar,
                    self.last_error,
                    delay,
                )
            await asyncio.sleep(delay)

    async def _register(self, expires: int) -> int | None:
        """One REGISTER (answering a challenge, a 423): the Expires granted, or ``None``."""
        request = self.leg.register(expires)
        final = await self._transaction(request)
        for _ in range(3):  # a 423, a challenge, perhaps a stale nonce
            retry = self._retry(final, request, expires) if final is not None else None
            if retry is None:
                break
            request, expires = retry
            final = await self._transaction(request)
        return self._settle(final, expires)

    def _retry(
        self, final: SipMessage, request: SipMessage, expires: int
    ) -> tuple[SipMessage, int] | None:
        if final.status == 423 and final.get("Min-Expires").strip().isdigit():
            expires = int(final.get("Min-Expires").strip())
            return self.leg.register(expires), expires
        if final.status not in (401, 407) or (_credentials(request) and not _stale(final)):
            return None  # our credentials were refused: asking again will not help
        user = self.trunk.username or self.trunk.from_user
        auth = answer_challenge(final, request, username=user, password=self.trunk.password)
        return None if auth is None else (self.leg.register(expires, auth=auth), expires)

    def _settle(self, final: SipMessage | None, expires: int) -> int | None:
        if final is None or not 200 <= final.status < 300:
            self.state = RegistrationState.FAILED
            self.last_error = "no response (Timer F)" if final is None else failure_detail(final)
            return None
        granted = granted_expires(final, self.leg.contact_uri, expires)
        if expires:
            self.state, self.last_error = RegistrationState.REGISTERED, ""
            self.expires_at = time.time() + granted
            log.info("SIP registration at %s:%s for %d s", *self.registrar, granted)
        return max(granted, 1)

    async def _transaction(self, request: SipMessage) -> SipMessage | None:
        """Run one REGISTER transaction (Timer E/F); its final, or ``None``."""
        loop = asyncio.get_running_loop()
        send = lambda message: self.transport.send(message, self.registrar)  # noqa: E731
        tx = NonInviteTransaction(
            request,
            t1=self.trunk.t1_s,
            t2=self.trunk.t2_s,
            send=send,
            now=loop.time(),
            reliable=self.transport.reliable,
        )
        while tx.final is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(tx.wake()):
                    message = await self._inbox.get()
                    if tx.owns(message):
                        tx.on_response(message)
            if tx.on_timer(loop.time()):
                return None
        return tx.final


def _credentials(request: SipMessage) -> tuple[str, str] | None:
    for name in ("Authorization", "Proxy-Authorization"):
        value = request.get(name)
        if value:
            return name, value
    return None


def _stale(final: SipMessage) -> bool:
    name = "Proxy-Authenticate" if final.status == 407 else "WWW-Authenticate"
    try:
        return parse_challenge(final.get(name)).stale
    except DigestError:
        return False
