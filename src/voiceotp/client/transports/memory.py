"""In-memory transports: a handler function plays the server, no sockets involved.

The handler gets ``(url, form)`` and returns the body, or a MemoryReply to add latency
or to drop the connection after the request was accepted. It may raise ConnectError
to play a refused connection. Timeouts are honoured against the reply's latency, so a
slow in-memory server produces the same UnknownOutcome a slow real one does.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from voiceotp.client.models import Timeout
from voiceotp.client.transports.base import AsyncTransport, Transport
from voiceotp.errors import UnknownOutcome


@dataclass(frozen=True, slots=True)
class MemoryReply:
    """A handler's answer: ``body`` after ``delay_s``, or a drop if ``dropped``."""

    body: bytes = b""
    delay_s: float = 0.0
    dropped: bool = False


Handler = Callable[[str, Mapping[str, str]], "bytes | MemoryReply"]
AsyncHandler = Callable[
    [str, Mapping[str, str]], "bytes | MemoryReply | Awaitable[bytes | MemoryReply]"
]


def _reply_wait(reply: MemoryReply, timeout: Timeout) -> tuple[float, bool]:
    """How long the caller waits, and whether it then times out."""
    limits = [t for t in (timeout.read, timeout.total) if t is not None]
    limit = min(limits) if limits else None
    if limit is not None and reply.delay_s > limit:
        return limit, True
    return reply.delay_s, False


def _finish(reply: MemoryReply, timed_out: bool) -> bytes:
    if timed_out:
        raise UnknownOutcome("read timeout: the request was sent, no answer came in time")
    if reply.dropped:
        raise UnknownOutcome("connection dropped after the request was sent")
    return reply.body


def _as_reply(answer: bytes | MemoryReply) -> MemoryReply:
    return answer if isinstance(answer, MemoryReply) else MemoryReply(answer)


class MemoryTransport(Transport):
    """Blocking in-memory transport calling ``handler`` (see the module docstring)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def post(self, url: str, form: Mapping[str, str], timeout: Timeout) -> bytes:
        reply = _as_reply(self.handler(url, dict(form)))
        wait, timed_out = _reply_wait(reply, timeout)
        if wait > 0:
            time.sleep(wait)
        return _finish(reply, timed_out)


class AsyncMemoryTransport(AsyncTransport):
    """Async in-memory transport; ``handler`` may be a plain or a coroutine function."""

    def __init__(self, handler: AsyncHandler) -> None:
        self.handler = handler

    async def post(self, url: str, form: Mapping[str, str], timeout: Timeout) -> bytes:
        answer = self.handler(url, dict(form))
        if inspect.isawaitable(answer):
            answer = await answer
        reply = _as_reply(answer)
        wait, timed_out = _reply_wait(reply, timeout)
        if wait > 0:
            await asyncio.sleep(wait)
        return _finish(reply, timed_out)
