"""SIP over TCP and TLS (RFC 3261 §18): framing, one connection per peer, reconnects.

- A stream is cut into messages by ``Content-Length`` (mandatory on streams, §18.3); a
  header block over 16 KiB or a body over 64 KiB closes the connection (a peer cannot
  make us buffer without bound). A ``CRLFCRLF`` keep-alive ping is answered with a CRLF
  pong (RFC 5626 §4.4.1).
- One connection per peer address, opened on the first message to it and reused by
  every call; messages written before it is up wait for it (for TLS: until the
  handshake verified the trunk, so nothing leaves in the clear). A connection that
  closes is dropped and the next message opens a new one.
- Responses and requests that arrive on a connection are answered on it: its peer
  address is the message's source, and sending to that address writes to it.
- Failing to connect (refused, unreachable, timed out, TLS handshake or certificate
  refused), or losing the connection, is a transport error (§18.4): every call that had
  written to it is told, as an ICMP refusal is told for UDP, and fails over or ends.
- TCP also listens on ``bind_host:bind_port`` (the port in our Via and Contact) for a
  trunk that opens its own connection; TLS does not (no server certificate): a TLS trunk
  must send its requests on our connection (``;alias`` in our Via, RFC 5923). Anyone may
  connect there, so such a connection is closed after 64·T1 (the longest a transaction
  waits) without a whole message (bytes and keep-alives do not count: a peer trickling a
  message or idling cannot hold it), and one host holds at most ``MAX_ACCEPTED_PER_HOST``
  of the ``MAX_ACCEPTED`` slots (one scanner cannot lock the trunk out).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import ssl
from typing import cast

from voiceotp.delivery.dialer.sip.config import DEFAULT_PORTS, SipTrunk
from voiceotp.delivery.dialer.sip.icmp import Refusal, call_id_of
from voiceotp.delivery.dialer.sip.message import SipParseError
from voiceotp.delivery.dialer.sip.tls import client_context, server_name, tls_failure
from voiceotp.delivery.dialer.sip.transport import Address, SipTransport

__all__ = [
    "MAX_ACCEPTED",
    "MAX_ACCEPTED_PER_HOST",
    "MAX_BODY",
    "MAX_HEADERS",
    "StreamFramer",
    "StreamTransport",
    "open_transport",
    "transport_uri",
]

log = logging.getLogger(__name__)
MAX_HEADERS = 16 * 1024
MAX_BODY = 64 * 1024
MAX_ACCEPTED = 64  # connections a trunk's side may open to our listener (a trunk needs few)
MAX_ACCEPTED_PER_HOST = 8  # of those, from one IP address
PING = b""  # what the framer yields for a CRLFCRLF keep-alive
_FOLD = re.compile(rb"\r\n[ \t]+")


class StreamFramer:
    """Cuts one connection's bytes into whole SIP messages (sans I/O)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by ``data`` (``PING`` for a keep-alive);
        :class:`SipParseError` when the peer breaks the framing or the size bounds."""
        self._buffer += data
        frames: list[bytes] = []
        while self._buffer:
            if self._buffer.startswith(b"\r\n\r\n"):
                del self._buffer[:4]
                frames.append(PING)
                continue
            if self._buffer.startswith(b"\r\n"):  # a pong, or CRLFs between messages
                if len(self._buffer) < 4 and b"\r\n\r\n".startswith(bytes(self._buffer)):
                    break  # perhaps the start of a ping
                del self._buffer[:2]
                continue
            frame = self._next_message()
            if frame is None:
                break
            frames.append(frame)
        return frames

    def _next_message(self) -> bytes | None:
        end = self._buffer.find(b"\r\n\r\n", 0, MAX_HEADERS + 4)
        if end < 0:
            if len(self._buffer) > MAX_HEADERS:
                raise SipParseError(f"SIP headers longer than {MAX_HEADERS} bytes")
            return None
        length = _content_length(bytes(self._buffer[:end]))
        if length > MAX_BODY:
            raise SipParseError(f"SIP body of {length} bytes (limit {MAX_BODY})")
        total = end + 4 + length
        if len(self._buffer) < total:
            return None
        frame = bytes(self._buffer[:total])
        del self._buffer[:total]
        return frame


def _content_length(head: bytes) -> int:
    """The one Content-Length of a header block, on any line, folded lines joined as
    :func:`parse_message` joins them: framer and parser must agree on where the body ends
    (else a peer could hide a second message in a body), so two values, or one that is
    not a number, break the framing."""
    values = set()
    for line in _FOLD.sub(b" ", head).split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"content-length", b"l"):
            values.add(value.strip())
    if not values:
        raise SipParseError("a SIP message on a stream without Content-Length")
    (value, *others) = values
    if others or not value.isdigit():
        raise SipParseError("a SIP message on a stream with an unreadable Content-Length")
    if len(value) > len(str(MAX_BODY)):  # int() refuses over 4,300 digits
        raise SipParseError(f"SIP body of a {len(value)}-digit length (limit {MAX_BODY})")
    return int(value)


class _Connection(asyncio.Protocol):
    """One TCP or TLS connection to (or from) a peer."""

    def __init__(self, owner: StreamTransport, peer: Address | None) -> None:
        self.owner = owner
        self.peer = peer
        self.accepted = peer is None  # a peer opened it (to our TCP listener)
        self.transport: asyncio.Transport | None = None
        self.pending: list[tuple[str, bytes]] = []  # (Call-ID, message) before it was up
        self.call_ids: set[str] = set()  # calls that wrote here: told if it fails
        self.framer = StreamFramer()
        self.broken = ""  # why we closed it ourselves
        self.idle: asyncio.TimerHandle | None = None  # accepted: closes it without messages

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.peer is None:  # accepted from a trunk
            host, port = transport.get_extra_info("peername")[:2]
            self.peer = (str(host), int(port))
            if not self.owner.adopt(self):
                self.transport.abort()
                return
            self.wait_for_message()
        for _call_id, data in self.pending:
            self.transport.write(data)
        self.pending.clear()

    def wait_for_message(self) -> None:
        """(Re)start the accepted connection's clock: a whole message before it runs out."""
        if self.idle is not None:
            self.idle.cancel()
        loop = asyncio.get_running_loop()
        self.idle = loop.call_later(self.owner.accepted_idle_s, self.idle_out)

    def idle_out(self) -> None:
        assert self.transport is not None
        self.broken = f"{self.owner.kind.upper()} connection closed: no message in time"
        self.transport.abort()

    def write(self, data: bytes) -> None:
        call_id = call_id_of(data)
        if call_id:
            self.call_ids.add(call_id)
        if self.transport is None:
            self.pending.append((call_id, data))
        elif not self.transport.is_closing():
            self.transport.write(data)

    def abandon(self, call_id: str) -> None:
        """Drop what ``call_id`` wrote while the connection was not up yet."""
        self.pending = [(c, data) for c, data in self.pending if c != call_id]
        self.call_ids.discard(call_id)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        assert self.peer is not None
        try:
            frames = self.framer.feed(data)
        except SipParseError as exc:
            log.warning("closing the SIP connection with %s:%s: %s", *self.peer, exc)
            self.broken = f"{self.owner.kind.upper()} connection closed: {exc}"
            self.transport.abort()
            return
        for frame in frames:
            if frame == PING:
                self.transport.write(b"\r\n")
            else:
                if self.accepted:
                    self.wait_for_message()
                self.owner.receive_bytes(frame, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle is not None:
            self.idle.cancel()
        kind = self.owner.kind.upper()
        if self.broken:
            reason = self.broken
        elif exc is None:
            reason = f"{kind} connection closed by the peer"
        elif isinstance(exc, ssl.SSLError):  # e.g. TLS 1.3: a client certificate refused
            reason = tls_failure(exc)
        else:
            reason = f"{kind} connection lost: {exc}"
        self.owner.lost(self, reason)


class StreamTransport(SipTransport):
    """The SIP connections of one dialer over TCP or TLS (the calls' view: a socket)."""

    reliable = True

    def __init__(self, trunk: SipTrunk, kind: str, context: ssl.SSLContext | None) -> None:
        super().__init__()
        self.kind = kind
        self._trunk = trunk
        self._context = context
        self._connections: dict[Address, _Connection] = {}
        self._server: asyncio.Server | None = None
        self._local: Address = (trunk.bind_host, trunk.bind_port or DEFAULT_PORTS[kind])
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.connect_timeout_s = 64 * trunk.t1_s  # Timer B: no longer than an INVITE waits
        self.accepted_idle_s = 64 * trunk.t1_s  # an accepted connection's wait for a message

    @classmethod
    async def open_for(cls, trunk: SipTrunk, kind: str) -> StreamTransport:
        """TCP (listening on the bind address) or TLS (client only)."""
        context = client_context(trunk) if kind == "tls" else None
        self = cls(trunk, kind, context)
        if kind == "tcp":
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(
                lambda: _Connection(self, None), trunk.bind_host, trunk.bind_port
            )
            host, port = self._server.sockets[0].getsockname()[:2]
            self._local = (str(host), int(port))
        return self

    @property
    def local_address(self) -> Address:
        return self._local

    def adopt(self, connection: _Connection) -> bool:
        """Take a connection a peer opened; ``False`` (refused) past ``MAX_ACCEPTED``, or
        ``MAX_ACCEPTED_PER_HOST`` from its host."""
        assert connection.peer is not None
        accepted = [c.peer for c in self._connections.values() if c.accepted]
        from_host = sum(peer is not None and peer[0] == connection.peer[0] for peer in accepted)
        if len(accepted) >= MAX_ACCEPTED or from_host >= MAX_ACCEPTED_PER_HOST:
            log.warning("refused a SIP connection from %s:%s: too many open", *connection.peer)
            return False
        self._connections.setdefault(connection.peer, connection)
        return True

    def send_bytes(self, data: bytes, address: Address) -> None:
        if self._closed:
            return
        connection = self._connections.get(address)
        if connection is None:
            connection = self._connections[address] = _Connection(self, address)
            task = asyncio.get_running_loop().create_task(self._connect(connection))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        connection.write(data)
        self.sent += 1

    async def _connect(self, connection: _Connection) -> None:
        assert connection.peer is not None
        host, port = connection.peer
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                await loop.create_connection(
                    lambda: connection,
                    host,
                    port,
                    ssl=self._context,
                    server_hostname=server_name(self._trunk) if self._context else None,
                    local_addr=(self._trunk.bind_host, 0),
                )
        except (OSError, ssl.SSLError) as exc:  # TimeoutError is an OSError
            self.lost(connection, _connect_failure(exc, self.kind))

    def abandon(self, call_id: str, address: Address) -> None:
        """The call left ``address`` for another target: an INVITE still waiting for a slow
        connection there must never be sent late (the callee would ring twice)."""
        connection = self._connections.get(address)
        if connection is not None:
            connection.abandon(call_id)

    def lost(self, connection: _Connection, reason: str) -> None:
        """A connection failed or closed: forget it and tell the calls that used it."""
        if connection.peer is None or self._connections.get(connection.peer) is not connection:
            return
        del self._connections[connection.peer]
        if self._closed:
            return
        log.info("SIP %s connection to %s:%s ended: %s", self.kind, *connection.peer, reason)
        for call_id in connection.call_ids:
            handler = self._refusal_handlers.get(call_id)
            if handler is not None:
                handler(Refusal(connection.peer, reason, call_id))

    def close(self) -> None:
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for connection in list(self._connections.values()):
            if connection.transport is not None:
                connection.transport.close()
        self._connections.clear()
        if self._server is not None:
            self._server.close()


def _connect_failure(exc: BaseException, kind: str) -> str:
    if isinstance(exc, ssl.SSLError):
        return tls_failure(exc)
    if isinstance(exc, TimeoutError):
        return f"{kind.upper()} connection timed out"
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno in errno.errorcode:
        return errno.errorcode[exc.errno]
    return f"{kind.upper()} connection failed: {exc}"


async def open_transport(trunk: SipTrunk, kind: str) -> SipTransport:
    """The transport factory: the UDP socket, or TCP/TLS connections."""
    if kind == "udp":
        return await SipTransport.bind(trunk.bind_host, trunk.bind_port)
    return await StreamTransport.open_for(trunk, kind)


def transport_uri(user: str, hostport: str, kind: str, scheme: str = "sip") -> str:
    """A SIP URI for ``kind`` (RFC 3261 §19.1): ``;transport=tcp|tls``, or ``sips:``."""
    userinfo = f"{user}@" if user else ""
    if kind == "tls" and scheme == "sips":
        return f"sips:{userinfo}{hostport}"
    suffix = "" if kind == "udp" else f";transport={kind}"
    return f"sip:{userinfo}{hostport}{suffix}"
