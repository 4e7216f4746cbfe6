"""Call an ASGI application in-process (the gateway's tests), no sockets involved.

Like httpx's ASGITransport: the request becomes one ``http`` scope and one body
message; the response's messages are collected. An exception from the app propagates
(``raise_app_exceptions=True``) so tests see it, or becomes UnknownOutcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import unquote, urlsplit

from voiceotp.client.models import Timeout
from voiceotp.client.transports.base import FORM_CONTENT_TYPE, AsyncTransport, encode_form
from voiceotp.errors import UnknownOutcome

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


class ASGITransport(AsyncTransport):
    """Send requests straight into ``app``; ``client`` is the peer address it sees."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        client: tuple[str, int] = ("127.0.0.1", 50000),
        raise_app_exceptions: bool = True,
    ) -> None:
        self.app = app
        self.client = client
        self.raise_app_exceptions = raise_app_exceptions

    def _scope(self, url: str, body: bytes) -> dict[str, Any]:
        parts = urlsplit(url)
        host = parts.hostname or "testserver"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": parts.scheme or "http",
            "path": unquote(parts.path) or "/",
            "raw_path": (parts.path or "/").encode(),
            "query_string": parts.query.encode(),
            "root_path": "",
            "headers": [
                (b"host", (parts.netloc or host).encode()),
                (b"content-type", FORM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": self.client,
            "server": (host, port),
        }

    async def post(self, url: str, form: Mapping[str, str], timeout: Timeout) -> bytes:
        body = encode_form(form)
        chunks: list[bytes] = []
        done = asyncio.Event()
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self._run(self._scope(url, body), receive, send, timeout)
        if not done.is_set():
            raise UnknownOutcome("the application returned without a complete response")
        return b"".join(chunks)

    async def _run(
        self, scope: dict[str, Any], receive: Receive, send: Send, timeout: Timeout
    ) -> None:
        limits = [t for t in (timeout.read, timeout.total) if t is not None]
        try:
            async with asyncio.timeout(min(limits) if limits else None):
                await self.app(scope, receive, send)
        except TimeoutError as exc:
            raise UnknownOutcome("read timeout: the application did not answer in time") from exc
        except Exception as exc:
            if self.raise_app_exceptions:
                raise
            raise UnknownOutcome(f"the application failed: {exc!r}") from exc
