"""Parse ihuyi responses (client side): namespace-agnostic and tolerant.

Accepted: XML with or without a namespace or declaration, any declared encoding Python
knows (GBK included), surrounding whitespace or a BOM, and JSON whose numbers arrive as
strings. Refused with a ProtocolError carrying an excerpt: empty bodies, HTML error
pages, documents with a DTD, and anything without a ``code``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from voiceotp.protocol.errors import ProtocolError
from voiceotp.protocol.models import (
    QUERY_INT_FIELDS,
    RESULT_TYPES,
    CheckResult,
    GetNumResult,
    Method,
    QueryResult,
    Result,
    SubmitResult,
    VerifyResult,
)

_DECLARATION = re.compile(rb"^<\?xml[^>]*?\?>", re.IGNORECASE)
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", re.IGNORECASE)
_ROOTS = {cls.root: method for method, cls in RESULT_TYPES.items()}
_BOMS = (b"\xef\xbb\xbf",)
_VOICEID_METHODS = (Method.QUERY, Method.VERIFY, Method.CHECK)


def parse_result(body: bytes, method: Method | None = None) -> Result:
    """Parse a response body into a result.

    The root element (XML) or the keys (JSON) decide the result type; ``method`` is the
    fallback when a JSON body says nothing about it.
    """
    text = body.strip()
    for bom in _BOMS:
        text = text.removeprefix(bom).lstrip()
    if not text:
        raise ProtocolError("empty response body", body)
    if text[:1] == b"<":
        fields, found = _xml_fields(text, body)
    elif text[:1] == b"{":
        fields, found = _json_fields(text, body), None
    else:
        raise ProtocolError("response is neither XML nor JSON", body)
    return _build(fields, found or _guess_method(fields, method), body)


def _xml_fields(text: bytes, body: bytes) -> tuple[dict[str, str], Method | None]:
    decoded = _decode_xml(text, body)
    if "<!DOCTYPE" in decoded[:1024].upper() or "<!ENTITY" in decoded:
        raise ProtocolError("document type declarations are not accepted", body)
    try:
        root = ET.fromstring(decoded)  # noqa: S314 - DTDs refused above; no entity expansion
    except ET.ParseError as exc:
        raise ProtocolError(f"malformed XML ({exc})", body) from exc
    fields = {_local(child.tag): (child.text or "").strip() for child in root}
    return fields, _ROOTS.get(_local(root.tag))


def _decode_xml(text: bytes, body: bytes) -> str:
    declaration = _DECLARATION.match(text)
    encoding = "utf-8"
    if declaration:
        found = _ENCODING.search(declaration.group(0))
        if found:
            encoding = found.group(1).decode("ascii")
        text = text[declaration.end() :]
    try:
        return text.decode(encoding)
    except LookupError as exc:
        raise ProtocolError(f"unknown encoding {encoding!r}", body) from exc
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"body is not valid {encoding}", body) from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _json_fields(text: bytes, body: bytes) -> dict[str, str]:
    try:
        doc: Any = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("malformed JSON", body) from exc
    if not isinstance(doc, dict):
        raise ProtocolError("JSON response is not an object", body)
    return {str(k): "" if v is None else str(v) for k, v in doc.items()}


def _guess_method(fields: dict[str, str], method: Method | None) -> Method:
    if "num" in fields:
        return Method.GETNUM
    if "status" in fields:
        return Method.QUERY
    if "voiceid" in fields:
        return method if method in _VOICEID_METHODS else Method.SUBMIT
    return method or Method.SUBMIT


def _build(fields: dict[str, str], method: Method, body: bytes) -> Result:
    if "code" not in fields:
        raise ProtocolError("response has no code", body)
    code = _int(fields["code"], "code", body)
    msg = fields.get("msg", "")
    if method is Method.GETNUM:
        return GetNumResult(code, msg, _int(fields.get("num") or "0", "num", body))
    voiceid = fields.get("voiceid") or fields.get("smsid") or "0"
    if method is Method.QUERY:
        ints = {name: _int(fields.get(name) or "0", name, body) for name in QUERY_INT_FIELDS}
        status, verify_status = fields.get("status", ""), fields.get("verify_status", "")
        return QueryResult(code, msg, voiceid, status, verify_status=verify_status, **ints)
    if method is Method.VERIFY:
        return VerifyResult(code, msg, voiceid)
    if method is Method.CHECK:
        return CheckResult(code, msg, voiceid)
    return SubmitResult(code, msg, voiceid)


def _int(value: str, name: str, body: bytes) -> int:
    try:
        return int(value.strip())
    except ValueError as exc:
        raise ProtocolError(f"{name} is not an integer", body) from exc
