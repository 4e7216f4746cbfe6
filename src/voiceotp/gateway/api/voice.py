"""``/webservice/voice.php``: the ihuyi endpoint (GET and POST; SOAP shares the path).

Parameters come from the query and a form body like PHP's ``$_REQUEST`` (the body
wins). Every answer is HTTP 200 with an ihuyi document in the asked format, except an
oversized body (413, still with a document).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from voiceotp.gateway.api import soap
from voiceotp.gateway.api.body import BodyTooLarge, read_body
from voiceotp.gateway.clientip import client_ip
from voiceotp.gateway.directory import IPAddress
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


async def voice_endpoint(request: Request) -> Response:
    """The ihuyi method call, the WSDL, or a SOAP envelope — all on one path."""
    gw: Gateway = request.app.state.gateway
    query = query_pairs(request)
    if request.method == "GET" and soap.wants_wsdl(query):
        wsdl = soap.render_wsdl(gw.settings.soap_namespace, wsdl_location(request, gw))
        return Response(wsdl, headers={"content-type": CONTENT_TYPES[Format.XML]})
    try:
        body = await read_body(request, gw.settings.max_body_bytes)
    except BodyTooLarge:
        incoming = decode_request(query)
        result = build_result(incoming.method or Method.SUBMIT, Answer(Code.FAILED))
        return respond(result, incoming.format, gw, status=413)
    if soap.is_soap_content_type(request.headers.get("content-type")):
        envelope = soap.parse_envelope(body)
        if envelope is not None:
            return await answer_soap(request, gw, *envelope)
    incoming = decode_request(query, await form_pairs(request.headers, body))
    result = await handle(request, gw, incoming, soap=False)
    return respond(result, incoming.format, gw)


async def handle(request: Request, gw: Gateway, incoming: IncomingRequest, soap: bool) -> Result:
    """Run the pipeline, then count, time and log the request (numbers masked)."""
    started = time.perf_counter()
    ip = client_address(request, gw)
    result = await gw.handle(incoming, ip, idempotency_key=request.headers.get("idempotency-key"))
    gw.observer.request(str(ip), incoming, result, time.perf_counter() - started, soap)
    return result


async def answer_soap(
    request: Request, gw: Gateway, incoming: IncomingRequest, envelope_ns: str
) -> Response:
    result = await handle(request, gw, incoming, soap=True)
    body = soap.render_envelope(result, gw.settings.soap_namespace, envelope_ns)
    media = "application/soap+xml" if envelope_ns == soap.SOAP12 else "text/xml"
    return Response(body, headers={"content-type": f"{media}; charset=utf-8"})


def wsdl_location(request: Request, gw: Gateway) -> str:
    """This endpoint's absolute URL as the client reached it (a broken Host: our own)."""
    try:
        return str(request.url.replace(query=""))
    except ValueError:
        return f"http://{gw.settings.host}:{gw.settings.port}{request.scope['path']}"


async def last_resort(request: Request, exc: Exception) -> Response:
    """Anything that escaped: still an ihuyi document (code 0), never a bare HTTP 500."""
    if not request.scope["path"].startswith("/webservice/"):
        return Response("internal error\n", status_code=500, media_type="text/plain")
    gw: Gateway = request.app.state.gateway
    incoming = decode_request(query_pairs(request))
    result = build_result(incoming.method or Method.SUBMIT, Answer(Code.FAILED))
    return respond(result, incoming.format, gw)


def client_address(request: Request, gw: Gateway) -> IPAddress | None:
    peer = request.client.host if request.client else None
    return client_ip(peer, request.headers.get("x-forwarded-for"), gw.settings.trusted_proxies)
