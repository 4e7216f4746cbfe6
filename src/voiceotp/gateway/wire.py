"""uvicorn's httptools protocol, with one ``send()`` per response instead of two.

uvicorn writes the status line and headers as soon as the app sends
``http.response.start``, and the body on ``http.response.body``: two system calls and
two TCP segments for every small answer. On loopback the receiving side's network work
runs inside the sender's system call, so the server pays for both segments. Here the
transport collects what is written during one pass of the event loop and sends it
together at the end of that pass (``call_soon``): a response sent without awaiting in
between leaves in one segment; nothing waits longer than the current pass.
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

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)  # type: ignore[arg-type]
