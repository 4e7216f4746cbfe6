"""SOAP on ``/webservice/voice.php`` (§8): the WSDL, and envelopes answered by the same
pipeline as form requests.

WSDL 1.1, document/literal (wrapped), service ``voice``, operations Submit and GetNum,
target namespace from the settings, SOAPAction ``<namespace><Operation>``. An envelope
is recognised by its Body's first element (Submit/GetNum, any namespace); anything
else is not SOAP and the request is handled as a plain one (its body is then ignored).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from string import Template
from xml.sax.saxutils import escape, quoteattr

from voiceotp.protocol import Format, IncomingRequest, Method, Result

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP_CONTENT_TYPES = ("text/xml", "application/soap+xml")
OPERATIONS = {"Submit": Method.SUBMIT, "GetNum": Method.GETNUM}
PARAMS = {"account", "password", "mobile", "content", "time"}


@lru_cache(maxsize=1)
def _wsdl_template() -> Template:
    return Template(Path(__file__).with_name("voice.wsdl").read_text(encoding="utf-8"))


def render_wsdl(namespace: str, location: str) -> bytes:
    """The WSDL document, with the service at ``location``."""
    return (
        _wsdl_template()
        .substitute(namespace=escape(namespace, {'"': "&quot;"}), location=escape(location))
        .encode()
    )


def wants_wsdl(query: list[tuple[str, str]]) -> bool:
    """``?wsdl`` in any case (``?WSDL``, ``?wsdl=``...)."""
    return any(name.lower() == "wsdl" for name, _ in query)


def is_soap_content_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in SOAP_CONTENT_TYPES


def parse_envelope(body: bytes) -> tuple[IncomingRequest, str] | None:
    """(the request, the envelope namespace) of a SOAP call, or None if it is not one."""
    head = body[:2048].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in body.upper():
        return None  # no DTDs: no entity expansion attacks
    try:
        root = ET.fromstring(body)  # noqa: S314 - DTDs refused above
    except (ET.ParseError, ValueError):
        return None
    envelope_ns = _namespace(root.tag)
    if _local(root.tag) != "Envelope" or envelope_ns not in (SOAP11, SOAP12):
        return None
    body_el = next((c for c in root if _local(c.tag) == "Body"), None)
    operation = next(iter(body_el), None) if body_el is not None else None
    if operation is None or _local(operation.tag) not in OPERATIONS:
        return None
    method = OPERATIONS[_local(operation.tag)]
    params = {"method": method.value}
    for child in operation:
        name = _local(child.tag)
        if name in PARAMS:
            params[name] = (child.text or "").strip()
    return IncomingRequest(method=method, format=Format.XML, params=params), envelope_ns


def render_envelope(result: Result, namespace: str, envelope_ns: str) -> bytes:
    """``<Envelope><Body><OpResponse><OpResult>…`` in the target namespace."""
    operation = result.root.removesuffix("Result")
    fields = "".join(f"<{n}>{escape(str(v))}</{n}>" for n, v in result.fields())
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{envelope_ns}"><soap:Body>'
        f"<{operation}Response xmlns={quoteattr(namespace)}>"
        f"<{result.root}>{fields}</{result.root}>"
        f"</{operation}Response></soap:Body></soap:Envelope>"
    ).encode()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
