"""SipDialer: places calls through one SIP trunk over UDP, TCP or TLS."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from voiceotp.delivery.dialer.base import UNREACHABLE, CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.rtp import RtpPacer
from voiceotp.delivery.dialer.sip.call import CallEnv, SipCall
from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.dialog import CallLeg
from voiceotp.delivery.dialer.sip.failover import TargetHealth
from voiceotp.delivery.dialer.sip.media import MediaPorts
from voiceotp.delivery.dialer.sip.outcome import CallProgress
from voiceotp.delivery.dialer.sip.register import RegisterLeg, Registration, RegistrationState
from voiceotp.delivery.dialer.sip.resolve import TrunkTargets, resolve_host
from voiceotp.delivery.dialer.sip.rtpport import RtpPorts
from voiceotp.delivery.dialer.sip.stream import open_transport, transport_uri
from voiceotp.delivery.dialer.sip.transport import Address, SipTransport
from voiceotp.protocol import mask_mobile

if TYPE_CHECKING:
    import dns.asyncresolver

__all__ = ["SipDialer"]

log = logging.getLogger(__name__)
NO_RESOURCE_Q850 = 47  # resource unavailable, unspecified


class SipDialer:
    """A :class:`~voiceotp.delivery.dialer.base.Dialer` over a SIP trunk.

    Any number of calls share the signalling socket (demultiplexed by Call-ID) and one
    RTP pacer; each call has its own RTP port. The socket opens on the first call or on
    :meth:`start`.
    """

    def __init__(
        self,
        trunk: SipTrunk,
        *,
        pacer: RtpPacer | None = None,
        resolver: dns.asyncresolver.Resolver | None = None,
    ) -> None:
        self.trunk = trunk
        self.pacer = pacer or RtpPacer()
        self._resolver = resolver  # None: the system's DNS servers
        self._transport: SipTransport | None = None
        self._targets = TrunkTargets(trunk, resolver)
        self._health = TargetHealth()
        self._trunk_address: Address = (trunk.host, trunk.port)
        self._open_lock = asyncio.Lock()
        self._rtp_ports = RtpPorts(trunk.bind_host, trunk.rtp_port_min, trunk.rtp_port_max)
        self._calls: dict[str, SipCall] = {}
        self._registration: Registration | None = None
        self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> SipTransport:
        """Resolve the trunk once (RFC 3263: its targets and transport), open the
        signalling socket (UDP) or listener (TCP) and, when the trunk wants it, start
        registering (idempotent)."""
        async with self._open_lock:
            if self._transport is None:
                targets = await self._targets.resolve()
                self._trunk_address = targets[0].address
                registrar = await self._registrar_address()
                self._transport = await open_transport(self.trunk, targets[0].transport)
                if self.trunk.register:
                    self._registration = self._registrar(self._transport, registrar)
                    self._registration.start()
            return self._transport

    async def _registrar_address(self) -> Address:
        if not self.trunk.registrar:
            return self._trunk_address
        host, port = self.trunk.registrar_address
        kind = self._targets.targets[0].transport  # one transport per dialer
        targets = await resolve_host(host, port, kind, resolver=self._resolver)
        if not targets:
            raise OSError(f"SIP registrar {host!r} resolves to no address")
        return targets[0].address

    def _registrar(self, transport: SipTransport, registrar: Address) -> Registration:
        via_host, contact_uri = self._local(transport)
        user, domain = self.trunk.username or self.trunk.from_user, self.trunk.sip_domain
        leg = RegisterLeg(
            request_uri=self._uri("", domain),
            aor=self._uri(user, domain),
            contact_uri=contact_uri,
            via_host=via_host,
            user_agent=self.trunk.user_agent,
            via_transport=transport.kind.upper(),
        )
        return Registration(self.trunk, transport, registrar, leg)

    @property
    def registration(self) -> Registration | None:
        """The binding kept at the registrar (``expires_at``, ``last_error``), if any."""
        return self._registration

    @property
    def registration_state(self) -> RegistrationState:
        """``off`` unless the trunk wants registration; for health pages and metrics."""
        if self._registration is None:
            return RegistrationState.OFF
        return self._registration.state

    @property
    def name(self) -> str:
        """``sip:<trunk host>`` (``:<port>`` unless 5060): no user, no password."""
        port = "" if self.trunk.port in (0, 5060) else f":{self.trunk.port}"
        return f"sip:{self.trunk.host}{port}"

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    async def dial(self, call: CallRequest) -> CallOutcome:
        """Place ``call`` through the trunk and wait for its end."""
        return await self.dial_traced(call, CallProgress())

    async def dial_traced(self, call: CallRequest, progress: CallProgress) -> CallOutcome:
        """:meth:`dial`, noting in ``progress`` what the far end answered (for failover)."""
        if not any(codec in call.audio for codec in self.trunk.codecs):
            raise ValueError(f"call {call.call_id} has no audio in {self.trunk.codecs}")
        refused = self._refusal(call)
        if refused is not None:
            return refused
        try:
            transport = await self.start()
        except OSError as exc:  # trunk name does not resolve, or the bind address is wrong
            log.warning("SIP dialer cannot start: %s", exc)
            return CallOutcome(
                UNREACHABLE.status, None, UNREACHABLE.q850, end_at=time.time(), detail=str(exc)
            )
        if self._registration is not None:  # a trunk that wants it knows us before a call
            await self._registration.first_attempt()
        try:
            media = await self._rtp_ports.open()
        except OSError as exc:  # port range exhausted, or out of file descriptors
            outcome = CallOutcome(
                CallStatus.FAILED,
                None,
                NO_RESOURCE_Q850,
                end_at=time.time(),
                detail=f"cannot open RTP/RTCP sockets, nothing dialed: {exc}",
            )
            log.warning("call %s not placed: %s", call.call_id, outcome.detail)
            return outcome
        try:
            # aclose() may have run while the socket was opening
            outcome = self._refusal(call) or await self._place(call, transport, media, progress)
        finally:
            self._rtp_ports.release(media)
        log.info(
            "call %s to %s: %s (%s) %s",
            call.call_id,
            mask_mobile(call.mobile),
            outcome.status,
            outcome.sip_code,
            outcome.detail,
        )
        return outcome

    def _refusal(self, call: CallRequest) -> CallOutcome | None:
        now = time.time()
        if self._closed:
            return CallOutcome(CallStatus.CANCELED, None, None, end_at=now, detail="dialer closed")
        if call.deadline is not None and now >= call.deadline:
            return CallOutcome(CallStatus.EXPIRED, None, None, end_at=now, detail="deadline")
        return None

    async def _place(
        self, call: CallRequest, transport: SipTransport, media: MediaPorts, progress: CallProgress
    ) -> CallOutcome:
        leg = self._new_leg(transport, call.mobile)
        sip_call = SipCall(self._env(transport), call, leg, media, progress=progress)
        call_id = sip_call.leg.call_id
        self._calls[call_id] = sip_call
        self._idle.clear()
        transport.register(call_id, sip_call.deliver, sip_call.refused)
        try:
            return await sip_call.run()
        finally:
            del self._calls[call_id]
            if not self._calls:
                self._idle.set()
            # Even with nothing ACKed (Timer B, ICMP, closing): a target may answer late.
            leftovers = sip_call.leftovers.answer  # a left node's late 1xx/2xx
            transport.linger(
                call_id, sip_call.last_ack, sip_call.target, self.trunk.linger_s, leftovers
            )

    async def ping_path(self) -> tuple[SipTransport, Address, str, str]:
        """Socket, trunk address, our Via host:port and Contact URI: for OPTIONS pings."""
        transport = await self.start()
        return transport, self._trunk_address, *self._local(transport)

    def _env(self, transport: SipTransport) -> CallEnv:
        now = asyncio.get_running_loop().time()
        targets = self._health.ordered(self._targets.current(), now)  # failed lately: last
        address = targets[0].address if targets else self._trunk_address
        return CallEnv(self.trunk, transport, self.pacer, address, targets, self._health)

    def _uri(self, user: str, hostport: str) -> str:
        """A URI for this dialer's transport (``;transport=tcp``, ``sips:``…)."""
        kind = self._transport.kind if self._transport is not None else "udp"
        return transport_uri(user, hostport, kind, self.trunk.uri_scheme)

    def _local(self, transport: SipTransport) -> tuple[str, str]:
        """Our Via host:port and Contact URI."""
        host, port = transport.local_address
        public = self.trunk.public_host or host
        return f"{public}:{port}", self._uri(self.trunk.from_user, f"{public}:{port}")

    def _new_leg(self, transport: SipTransport, mobile: str) -> CallLeg:
        via_host, contact_uri = self._local(transport)
        domain = self.trunk.sip_domain
        return CallLeg(
            request_uri=self._uri(mobile, domain),
            from_uri=self._uri(self.trunk.from_user, domain).split(";", 1)[0],
            contact_uri=contact_uri,
            via_host=via_host,
            user_agent=self.trunk.user_agent,
            via_transport=transport.kind.upper(),
        )

    async def aclose(self) -> None:
        """End calls in flight (CANCEL before answer, BYE after) and close the sockets."""
        self._closed = True
        for sip_call in list(self._calls.values()):
            sip_call.close()
        await self._idle.wait()  # each call finishes its CANCEL/BYE transaction (<= 64*T1)
        if self._registration is not None:
            await self._registration.aclose()  # un-REGISTER (<= 64*T1)
        await self.pacer.aclose()
        self._targets.close()
        if self._transport is not None:
            self._transport.close()
