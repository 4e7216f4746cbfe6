"""SOAP envelopes on ``/webservice/voice.php`` (§8), answered by the same pipeline as
form requests; the WSDL is in :mod:`voiceotp.gateway.api.wsdl`.

A request is SOAP when its headers say so — a ``SOAPAction`` header, the SOAP 1.2 type
``application/soap+xml``, or ``text/xml`` with no ``method`` in the query (with one, it is
a plain call whose non-form body is ignored, §1) — or when its body is a SOAP Envelope.

- A readable envelope whose Body holds ``Submit`` or ``GetNum`` (any namespace) is a
  call: its answer is the operation's response with the ihuyi code, HTTP 200.
- Any other SOAP request gets a SOAP Fault in the request's SOAP version (``soap:Client``
  in 1.1, ``soap:Sender`` in 1.2) saying what is wrong, with HTTP 400 (413 for a body
  over the size limit): not well-formed, a DTD or entity declaration, no Envelope, no or
  an empty Body, an unknown operation. Its detail carries ihuyi code 0 (nothing done).
  SOAP 1.1 would answer faults with HTTP 500; the contract reserves 5xx for our failures.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from voiceotp.gateway.api.xmlbody import UnreadableXml, parse_untrusted
from voiceotp.protocol import Code, Format, IncomingRequest, Method, Result, message_for

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
OPERATIONS = {"Submit": Method.SUBMIT, "GetNum": Method.GETNUM}
PARAMS = {"account", "password", "mobile", "content", "time", "templateid"}  # templateid: notices
_MEDIA = {SOAP11: b"text/xml; charset=utf-8", SOAP12: b"application/soap+xml; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class Call:
    """A Submit or GetNum read from an envelope of SOAP ``version`` (its namespace)."""

    request: IncomingRequest
    version: str


@dataclass(frozen=True, slots=True)
class Fault:
    """A SOAP request that is no call we can answer: why, and in which SOAP version."""

    version: str
    reason: str
    status: int = 400


def announced(
    content_type: str | None, soapaction: str | None, query: list[tuple[str, str]]
) -> str | None:
    """The SOAP version the headers announce, or None when they do not look like SOAP
    (``text/xml`` alone does not when the query names a ``method``)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/soap+xml":
        return SOAP12
    if soapaction is not None:
        return SOAP11
    if media == "text/xml" and not any(name == "method" for name, _ in query):
        return SOAP11
    return None


def read_envelope(body: bytes, version: str | None) -> Call | Fault | None:
    """The call in ``body``; a Fault when the request is SOAP (``version`` announced by
    the headers, or an Envelope root) without a readable call; None when it is no SOAP."""
    if not body.strip():
        return (
            Fault(version, "the request body is empty: send a SOAP envelope") if version else None
        )
    try:
        root = parse_untrusted(body)
    except UnreadableXml as exc:
        return Fault(version, str(exc)) if version else None
    envelope_ns = _namespace(root.tag)
    if _local(root.tag) != "Envelope" or envelope_ns not in (SOAP11, SOAP12):
        if version is None:
            return None
        return Fault(version, f"the root element is {root.tag}, not a SOAP envelope")
    return _call(root, envelope_ns)


def _call(envelope: ET.Element, version: str) -> Call | Fault:
    body = next((c for c in envelope if _local(c.tag) == "Body"), None)
    if body is None:
        return Fault(version, "the envelope has no Body")
    operation = next(iter(body), None)
    if operation is None:
        return Fault(version, "the Body is empty: put a Submit or GetNum element in it")
    name = _local(operation.tag)
    if name not in OPERATIONS:
        return Fault(version, f"unknown operation {name!r}: this service has Submit and GetNum")
    method = OPERATIONS[name]
    params = {"method": method.value}
    for child in operation:
        field = _local(child.tag)
        if field in PARAMS:
            params[field] = (child.text or "").strip()
    return Call(IncomingRequest(method=method, format=Format.XML, params=params), version)


def media_type(version: str) -> bytes:
    return _MEDIA.get(version, _MEDIA[SOAP11])


def render_envelope(result: Result, namespace: str, envelope_ns: str) -> bytes:
    """``<Envelope><Body><OpResponse><OpResult>…`` in the target namespace."""
    operation = result.root.removesuffix("Result")
    fields = "".join(f"<{n}>{escape(str(v))}</{n}>" for n, v in result.fields())
    return _envelope(
        envelope_ns,
        f"<{operation}Response xmlns={quoteattr(namespace)}>"
        f"<{result.root}>{fields}</{result.root}></{operation}Response>",
    )


def render_fault(fault: Fault, namespace: str) -> bytes:
    """The Fault of ``fault.version``; its detail holds ihuyi code 0 (nothing was done)."""
    reason = escape(fault.reason[:300])  # a root tag may be as long as the body
    detail = (
        f"<Result xmlns={quoteattr(namespace)}><code>{int(Code.FAILED)}</code>"
        f"<msg>{message_for(Code.FAILED)}</msg></Result>"
    )
    if fault.version == SOAP12:
        inner = (
            "<soap:Code><soap:Value>soap:Sender</soap:Value></soap:Code>"
            f'<soap:Reason><soap:Text xml:lang="en">{reason}</soap:Text></soap:Reason>'
            f"<soap:Detail>{detail}</soap:Detail>"
        )
    else:
        inner = (
            f"<faultcode>soap:Client</faultcode><faultstring>{reason}</faultstring>"
            f"<detail>{detail}</detail>"
        )
    return _envelope(fault.version, f"<soap:Fault>{inner}</soap:Fault>")


def _envelope(envelope_ns: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{envelope_ns}"><soap:Body>{body}</soap:Body></soap:Envelope>'
    ).encode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
