"""``/webservice/voice.php``: the ihuyi endpoint (GET and POST; SOAP shares the path).

Parameters come from the query and a form body like PHP's ``$_REQUEST`` (the body
wins). Every answer is HTTP 200 with an ihuyi document in the asked format, except an
oversized body (413, still with a document).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from voiceotp.gateway.api.body import BodyTooLarge, read_body
from voiceotp.gateway.clientip import client_ip
from voiceotp.gateway.rules import Answer
from voiceotp.gateway.service import Gateway, build_result
from voiceotp.protocol import (
    CONTENT_TYPES,
    Code,
    Format,
    IncomingRequest,
    Method,
    Result,
    body_kind,
    decode_request,
    parse_urlencoded,
    render_result,
)
from voiceotp.protocol.request import MULTIPART

MAX_FIELDS = 64


def query_pairs(request: Request) -> list[tuple[str, str]]:
    return parse_urlencoded(request.scope.get("query_string", b""))


async def form_pairs(headers: Headers, body: bytes) -> list[tuple[str, str]]:
    """Pairs of a form body; a body that is no form (or a broken one) counts as empty."""
    kind = body_kind(headers.get("content-type"))
    if kind is None or not body:
        return []
    if kind != MULTIPART:
        return parse_urlencoded(body)

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(headers, stream(), max_files=0, max_fields=MAX_FIELDS)
    try:
        form = await parser.parse()
    except (MultiPartException, ValueError, UnicodeDecodeError):
        return []
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def respond(result: Result, fmt: Format, gw: Gateway, status: int = 200) -> Response:
    body = render_result(result, fmt, namespace=gw.settings.xml_namespace or None)
    return Response(body, status_code=status, headers={"content-type": CONTENT_TYPES[fmt]})


def peer_ip(request: Request, gw: Gateway) -> str | None:
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), gw.settings.trusted_proxies)
    return str(ip) if ip else None


async def voice_endpoint(request: Request) -> Response:
    """The ihuyi method call (SOAP and WSDL requests are routed by the caller)."""
    gw: Gateway = request.app.state.gateway
    query = query_pairs(request)
    try:
        body = await read_body(request, gw.settings.max_body_bytes)
    except BodyTooLarge:
        incoming = decode_request(query)
        result = build_result(incoming.method or Method.SUBMIT, Answer(Code.FAILED))
        return respond(result, incoming.format, gw, status=413)
    incoming = decode_request(query, await form_pairs(request.headers, body))
    return await answer(request, gw, incoming)


async def answer(request: Request, gw: Gateway, incoming: IncomingRequest) -> Response:
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), gw.settings.trusted_proxies)
    result = await gw.handle(incoming, ip, idempotency_key=request.headers.get("idempotency-key"))
    return respond(result, incoming.format, gw)
