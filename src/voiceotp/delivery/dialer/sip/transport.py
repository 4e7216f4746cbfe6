"""One UDP socket for all calls' SIP signalling, demultiplexed by Call-ID.

Each call registers a handler under its Call-ID; the handler matches transactions by
branch and CSeq. Where the kernel reports ICMP errors (``icmp.py``), a datagram the
network refused is told to the call whose Call-ID it carried. Requests for calls we do
not know get 481 (RFC 3261 §12.2.2), except OPTIONS: trunks ping their peers with it and
count anything but 200 as "peer down". After a call ends its last ACK lingers for Timer D
(32 s) so that retransmitted finals are ACKed again instead of being ignored, and a
retransmitted BYE (our 200 was lost) is answered again instead of running into the
callee's Timer F.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import cast

from voiceotp.delivery.dialer.sip.dialog import response_to
from voiceotp.delivery.dialer.sip.icmp import Refusal, enable_error_queue, read_error_queue
from voiceotp.delivery.dialer.sip.message import SipMessage, SipParseError, parse_message

__all__ = ["LOOKUP_TIMEOUT_S", "Address", "SipTransport", "resolve_ipv4"]

log = logging.getLogger(__name__)
Address = tuple[str, int]
LOOKUP_TIMEOUT_S = 3.0  # a DNS lookup's bound: a dead DNS must not hold calls for long
Handler = Callable[[SipMessage, Address], None]
RefusalHandler = Callable[[Refusal], None]


async def resolve_ipv4(host: str, port: int) -> Address:
    """The IPv4 address of a SIP peer; resolved once, so sends never block on DNS. Bounded
    by ``LOOKUP_TIMEOUT_S`` (libc may wait its timeouts times attempts times servers)."""
    loop = asyncio.get_running_loop()
    lookup = loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    try:
        infos = await asyncio.wait_for(lookup, LOOKUP_TIMEOUT_S)
    except TimeoutError:
        message = f"cannot resolve SIP peer {host!r}: no answer in {LOOKUP_TIMEOUT_S:g} s"
        raise OSError(message) from None
    except OSError as exc:
        raise OSError(f"cannot resolve SIP peer {host!r}: {exc}") from exc
    address = infos[0][4]
    return str(address[0]), int(address[1])


class SipTransport(asyncio.DatagramProtocol):
    """The SIP socket of one dialer (UDP; ``stream.py`` has TCP and TLS)."""

    reliable = False  # whether transactions may skip retransmissions (RFC 3261 §17.1)
    kind = "udp"

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self._handlers: dict[str, Handler] = {}
        self._refusal_handlers: dict[str, RefusalHandler] = {}
        self._error_queue: socket.socket | None = None  # the socket, when ICMP is reported
        self.received = 0
        self.sent = 0

    @classmethod
    async def bind(cls, host: str, port: int) -> SipTransport:
        """Open the socket on ``host:port`` (0 for an ephemeral port)."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        reports_icmp = enable_error_queue(sock)
        _, protocol = await loop.create_datagram_endpoint(cls, sock=sock)
        protocol._error_queue = sock if reports_icmp else None
        return protocol

    @property
    def local_address(self) -> Address:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def register(
        self, call_id: str, handler: Handler, on_refused: RefusalHandler | None = None
    ) -> None:
        self._handlers[call_id] = handler
        if on_refused is not None:
            self._refusal_handlers[call_id] = on_refused

    def abandon(self, call_id: str, address: Address) -> None:
        """A call gave up on ``address``; nothing to take back from a datagram socket."""

    def unregister(self, call_id: str) -> None:
        self._handlers.pop(call_id, None)
        self._refusal_handlers.pop(call_id, None)

    def linger(
        self,
        call_id: str,
        ack: SipMessage | None,
        address: Address,
        seconds: float,
        leftovers: Callable[[SipMessage, Address], bool] | None = None,
    ) -> None:
        """Keep ACKing retransmitted final responses of an ended call for ``seconds``;
        ``leftovers`` takes those of other branches (``leftover.Leftovers.answer``)."""
        data = ack.to_bytes() if ack is not None else b""  # None: nothing was ACKed

        def reack(message: SipMessage, source: Address) -> None:
            if not message.is_request:
                if leftovers is not None and leftovers(message, source):
                    return
                if data and message.status >= 200 and message.cseq[1] == "INVITE":
                    self.send_bytes(data, address)
            elif message.method in ("BYE", "OPTIONS"):
                self.send(response_to(message, 200, "OK"), source)
            elif message.method != "ACK":
                self.send(response_to(message, 481, "Call/Transaction Does Not Exist"), source)

        self._handlers[call_id] = reack
        self._refusal_handlers.pop(call_id, None)  # it would keep the ended call alive
        asyncio.get_running_loop().call_later(seconds, self._drop_linger, call_id, reack)

    def _drop_linger(self, call_id: str, handler: Handler) -> None:
        if self._handlers.get(call_id) is handler:
            del self._handlers[call_id]

    def send(self, message: SipMessage, address: Address) -> None:
        self.send_bytes(message.to_bytes(), address)

    def send_bytes(self, data: bytes, address: Address) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, address)
            self.sent += 1

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.receive_bytes(data, addr)

    def receive_bytes(self, data: bytes, addr: Address) -> None:
        """Dispatch one message from ``addr`` to its call (by Call-ID), or answer it."""
        self.received += 1
        if not data.strip():  # keep-alive CRLFs
            return
        try:
            message = parse_message(data)
        except (SipParseError, ValueError) as exc:
            log.debug("dropped unreadable SIP datagram from %s: %s", addr, exc)
            return
        message.source = addr
        handler = self._handlers.get(message.call_id)
        if handler is not None:
            handler(message, addr)
        elif message.method == "OPTIONS":
            self.send(response_to(message, 200, "OK"), addr)
        elif message.is_request and message.method != "ACK":
            self.send(response_to(message, 481, "Call/Transaction Does Not Exist"), addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP socket error: %s", exc)
        if self._error_queue is None:
            return  # no ICMP reports here: the transaction timers end the calls
        for refusal in read_error_queue(self._error_queue):
            log.info(
                "the network refused a SIP datagram to %s:%s (%s)",
                *refusal.destination,
                refusal.reason,
            )
            handler = self._refusal_handlers.get(refusal.call_id)
            if handler is not None:
                handler(refusal)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
