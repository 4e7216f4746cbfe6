"""``/webservice/voice.php``: the ihuyi endpoint (GET and POST; SOAP shares the path).

Parameters come from the query and a form body like PHP's ``$_REQUEST`` (the body
wins). Every answer is HTTP 200 with an ihuyi document in the asked format, except an
oversized body (413) and a method other than GET/POST (405, with ``Allow``), both still
with a code-0 document; SOAP requests get SOAP answers (see :mod:`soap`).

This is the hot path, so it is a raw ASGI app (:func:`voice_app`): no Starlette
``Request``/``Response`` objects, headers read from the scope's list, the body read with
a size cap. Starlette's machinery is built only for multipart bodies.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncGenerator

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from voiceotp.gateway.api import soap, wsdl
from voiceotp.gateway.api.body import BodyTooLarge, read_asgi_body
from voiceotp.gateway.clientip import client_ip
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.rules import Answer, Product
from voiceotp.gateway.submit.service import Gateway, build_result
from voiceotp.protocol import (
    CONTENT_TYPES,
    Code,
    Format,
    IncomingRequest,
    Method,
    Result,
    SubmitResult,
    body_kind,
    decode_request,
    parse_urlencoded,
    render_result,
)
from voiceotp.protocol.notice import CODE_PATH, NOTICE_PATH
from voiceotp.protocol.request import MULTIPART

log = logging.getLogger(__name__)
MAX_FIELDS = 64
# The headers this endpoint reads; the rest of the request's are never decoded.
WANTED = frozenset(
    {b"content-type", b"content-length", b"idempotency-key", b"x-forwarded-for", b"soapaction"}
)
ALLOW = b"GET, POST"
VOICE_PATH = CODE_PATH
# NOTICE_PATH is the notification product's own path (ihuyi serves it as api.vm.ihuyi.com's
# /webservice/voice.php: a host in ``notify.hosts`` gets it on VOICE_PATH too).
_TYPES = {fmt: ctype.encode() for fmt, ctype in CONTENT_TYPES.items()}

Answered = tuple[int, bytes, bytes]  # HTTP status, content-type, body


class VoiceEndpoint:
    """The ASGI app of the path (a class, so Starlette's Route calls it as ASGI)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await voice_app(scope, receive, send)


async def voice_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ihuyi method call, the WSDL, or a SOAP envelope — all on one path.

    Anything that escapes still answers an ihuyi document (code 0), never a bare 500.
    """
    gw: Gateway = scope["app"].state.gateway
    try:
        status, content_type, body = await answer(gw, scope, receive)
    except ClientDisconnect:
        return  # nobody to answer
    except Exception:
        log.exception("unexpected error answering %s; answering code 0", scope["path"])
        status, content_type, body = failure(gw, scope, 200)
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    if status == 405:
        headers.append((b"allow", ALLOW))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def product_of(scope: Scope, settings: Settings) -> Product:
    """What the request reaches: the notification product on its own path, or on
    VOICE_PATH of a host name the operator mapped to it (``notify.hosts``). The Host
    header only selects between our two products here; it never builds a URL."""
    if scope["path"] == NOTICE_PATH:
        return Product.NOTICE
    hosts = settings.notify.hosts
    if hosts:
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1").strip().lower()
                host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
                return Product.NOTICE if host.rstrip(".") in hosts else Product.CODE
    return Product.CODE


async def answer(gw: Gateway, scope: Scope, receive: Receive) -> Answered:
    headers = wanted_headers(scope)
    query = parse_urlencoded(scope.get("query_string", b""))
    verb = scope["method"]
    product = product_of(scope, gw.settings)
    if verb in ("GET", "HEAD") and wsdl.wants_wsdl(query):
        notice = product is Product.NOTICE
        location = wsdl.service_location(scope, gw.settings, NOTICE_PATH if notice else VOICE_PATH)
        document = wsdl.render_wsdl(gw.settings.soap_namespace, location, notice=notice)
        return 200, _TYPES[Format.XML], document
    if verb not in ("GET", "POST"):  # a HEAD must not place a call: only the WSDL has one
        return failure(gw, scope, 405)
    content_type = headers.get(b"content-type")
    try:
        declared = headers.get(b"content-length")
        body = await read_asgi_body(receive, declared, gw.settings.max_body_bytes)
    except BodyTooLarge:
        version = soap_version(headers, query)
        if version is None:
            return failure(gw, scope, 413)
        limit = gw.settings.max_body_bytes
        return fault(gw, soap.Fault(version, f"the body is larger than {limit} bytes", 413))
    kind = body_kind(content_type)
    if kind is None:  # no form: SOAP, or a plain call ignoring its body
        version = soap_version(headers, query)
        if version is not None or body:
            envelope = soap.read_envelope(body, version)
            if isinstance(envelope, soap.Call):
                return await answer_soap(gw, scope, headers, envelope, product)
            if isinstance(envelope, soap.Fault):
                return fault(gw, envelope)
    incoming = decode_request(query, await form_pairs(scope, kind, body))
    result = await handle(gw, scope, headers, incoming, soap=False, product=product)
    return 200, _TYPES[incoming.format], render(result, incoming.format, gw)


def wanted_headers(scope: Scope) -> dict[bytes, str]:
    """The few headers we read (ASGI names are lower-case). Repeated lines are one list,
    comma-joined in order (RFC 9110 §5.3): X-Forwarded-For is then judged from its
    right, where the proxies appended (a client's own first line is no longer the
    answer); a repeated Content-Type or Idempotency-Key becomes a value no single line
    had, so the body is ignored or the key is one of its own, never a guess between them.
    """
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in WANTED:
            text = value.decode("latin-1")
            found[name] = f"{found[name]}, {text}" if name in found else text
    return found


def soap_version(headers: dict[bytes, str], query: list[tuple[str, str]]) -> str | None:
    """The SOAP version the request's headers announce (see :mod:`soap`), or None."""
    return soap.announced(headers.get(b"content-type"), headers.get(b"soapaction"), query)


async def form_pairs(scope: Scope, kind: str | None, body: bytes) -> list[tuple[str, str]]:
    """Pairs of a form body (``kind`` from ``body_kind``); a body that is no form (or a
    broken one) counts as empty."""
    if kind is None or not body:
        return []
    if kind != MULTIPART:
        return parse_urlencoded(body)

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(Headers(scope=scope), stream(), max_files=0, max_fields=MAX_FIELDS)
    try:
        form = await parser.parse()
    except (MultiPartException, ValueError, UnicodeDecodeError):
        return []
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def render(result: Result, fmt: Format, gw: Gateway) -> bytes:
    namespace = gw.settings.xml_namespace or None
    if isinstance(result, SubmitResult) and result.voiceid.isdigit():
        template = submit_template(result.code, result.msg, fmt, namespace)
        if template is not None:
            return template[0] + result.voiceid.encode() + template[1]
    return render_result(result, fmt, namespace=namespace)


@functools.lru_cache(maxsize=256)
def submit_template(
    code: int, msg: str, fmt: Format, namespace: str | None
) -> tuple[bytes, bytes] | None:
    """A Submit answer's bytes before and after its voiceid (digits need no escaping),
    rendered once per (code, message, format): the documents differ only there."""
    marker = b"0123456789"  # digits, like every voiceid, so rendered the same way
    document = render_result(SubmitResult(code, msg, marker.decode()), fmt, namespace=namespace)
    before, _, after = document.partition(marker)
    if document.count(marker) != 1:
        return None  # the message holds the marker too: render such answers in full
    return before, after


async def handle(
    gw: Gateway,
    scope: Scope,
    headers: dict[bytes, str],
    incoming: IncomingRequest,
    soap: bool,
    product: Product = Product.CODE,
) -> Result:
    """Run the pipeline, then count, time and log the request (numbers masked)."""
    started = time.perf_counter()
    client = scope.get("client")
    ip = client_ip(
        client[0] if client else None,
        headers.get(b"x-forwarded-for"),
        gw.settings.trusted_proxies,
    )
    key = headers.get(b"idempotency-key")
    result = await gw.handle(incoming, ip, idempotency_key=key, product=product)
    gw.observer.request(ip, incoming, result, time.perf_counter() - started, soap)
    return result


async def answer_soap(
    gw: Gateway,
    scope: Scope,
    headers: dict[bytes, str],
    call: soap.Call,
    product: Product = Product.CODE,
) -> Answered:
    result = await handle(gw, scope, headers, call.request, soap=True, product=product)
    body = soap.render_envelope(result, gw.settings.soap_namespace, call.version)
    return 200, soap.media_type(call.version), body


def fault(gw: Gateway, fault: soap.Fault) -> Answered:
    body = soap.render_fault(fault, gw.settings.soap_namespace)
    return fault.status, soap.media_type(fault.version), body


def failure(gw: Gateway, scope: Scope, status: int) -> Answered:
    """Code 0 in the format the query asked for (the body may be what broke, or unread):
    an unexpected error (200), a body over the limit (413), another HTTP method (405)."""
    incoming = decode_request(parse_urlencoded(scope.get("query_string", b"")))
    result = build_result(incoming.method or Method.SUBMIT, Answer(Code.FAILED))
    return status, _TYPES[incoming.format], render(result, incoming.format, gw)
