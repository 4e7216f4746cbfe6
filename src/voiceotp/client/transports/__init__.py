"""Transports: the client's only I/O, and the seam its tests plug into."""

from voiceotp.client.transports.aiohttp_transport import AiohttpTransport
from voiceotp.client.transports.asgi import ASGITransport
from voiceotp.client.transports.base import AsyncTransport, Transport, encode_form
from voiceotp.client.transports.httpx_transport import HTTPXTransport
from voiceotp.client.transports.memory import AsyncMemoryTransport, MemoryReply, MemoryTransport

__all__ = [
    "ASGITransport",
    "AiohttpTransport",
    "AsyncMemoryTransport",
    "AsyncTransport",
    "HTTPXTransport",
    "MemoryReply",
    "MemoryTransport",
    "Transport",
    "encode_form",
]
