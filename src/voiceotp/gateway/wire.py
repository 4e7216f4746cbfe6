"""uvicorn's httptools protocol, with one ``send()`` per response instead of two, a
deadline for each request to arrive, and an answer for a client that half-closed.

uvicorn writes the status line and headers as soon as the app sends
``http.response.start``, and the body on ``http.response.body``: two system calls and
two TCP segments for every small answer. On loopback the receiving side's network work
runs inside the sender's system call, so the server pays for both segments. Here the
transport collects what is written during one pass of the event loop and sends it
together at the end of that pass (``call_soon``): a response sent without awaiting in
between leaves in one segment; nothing waits longer than the current pass.

uvicorn drops idle keep-alive connections, but not one that never finishes a request: a
client that opens connections and sends nothing (or half a request) holds their file
descriptors for ever. Here a request (headers and body) must arrive within
``request_timeout_s`` of its first byte, or of the connection's start. And a client that
sends a whole Submit and then half-closes (``shutdown(SHUT_WR)``) still gets its answer:
asyncio would otherwise close the socket at the EOF, after the Submit was charged.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """Forwards everything to ``transport``; writes of one loop pass go out as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is pending now (also before closing, so nothing is lost)."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # Everything else (get_extra_info, pause_reading, is_closing, ...) is the real one's.
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """Pass as ``uvicorn.run(..., http=CoalescingHttpToolsProtocol)``."""

    request_timeout_s = 15.0  # a request must arrive whole within this (see above)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, self.loop)
        self._request_timer: asyncio.TimerHandle | None = None
        self._half_closed = False
        super().connection_made(coalescing)  # type: ignore[arg-type]
        self._arm_request_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_request_timer()

    def on_message_complete(self) -> None:
        self._cancel_request_timer()
        super().on_message_complete()

    def eof_received(self) -> bool | None:  # type: ignore[override]
        """Keep the socket open for the answer of a request still being handled."""
        if self.cycle is not None and not self.cycle.response_complete:
            self._half_closed = True
            return True
        return None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._half_closed and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_request_timer()
        super().connection_lost(exc)

    def _arm_request_timer(self) -> None:
        self._cancel_request_timer()
        self._request_timer = self.loop.call_later(self.request_timeout_s, self._too_slow)

    def _cancel_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _too_slow(self) -> None:
        self._request_timer = None
        if not self.transport.is_closing():
            self.transport.close()
