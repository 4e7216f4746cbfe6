"""FakeIhuyi as an ASGI application, for ``ASGITransport`` or any ASGI server."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from voiceotp.client.transports.asgi import ASGIApp, Receive, Send
from voiceotp.protocol import CONTENT_TYPES, Format, body_kind, parse_urlencoded
from voiceotp.protocol.notice import is_notice_target
from voiceotp.protocol.request import FORM_URLENCODED

if TYPE_CHECKING:
    from voiceotp.testing.fake import FakeIhuyi


def fake_asgi_app(fake: FakeIhuyi) -> ASGIApp:
    """An ASGI app answering like ``fake``; a lost response ends without answering."""

    async def app(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan and websockets: nothing to set up
        body = await _read_body(receive)
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        form = parse_urlencoded(body) if body_kind(content_type) == FORM_URLENCODED else []
        host = headers.get(b"host", b"").decode("latin-1").split(":")[0]
        notice = is_notice_target(scope.get("path", ""), host)
        query = parse_urlencoded(scope.get("query_string", b""))
        reply = fake.handle(query, form, notice=notice)
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        if reply.dropped:
            return
        fmt = Format.JSON if reply.body[:1] == b"{" else Format.XML
        content = [(b"content-type", CONTENT_TYPES[fmt].encode())]
        await send({"type": "http.response.start", "status": 200, "headers": content})
        await send({"type": "http.response.body", "body": reply.body})

    return app


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
