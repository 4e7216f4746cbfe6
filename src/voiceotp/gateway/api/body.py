"""Reading request bodies with a size limit (413 instead of unbounded memory)."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from voiceotp.errors import BodyTooLarge as BodyTooLarge  # re-exported: defined in voiceotp.errors


async def read_asgi_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The whole body from ASGI ``receive``, or BodyTooLarge as soon as ``limit`` bytes
    are exceeded (or the declared Content-Length says they will be)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_body(request: Request, limit: int) -> bytes:
    """The same for a Starlette request (the admin API)."""
    return await read_asgi_body(request.receive, request.headers.get("content-length"), limit)
