"""Render results to the exact bytes the ihuyi service sends (server side)."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape, quoteattr

from voiceotp.protocol.models import INT_FIELDS, Format, Result

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
CONTENT_TYPES = {
    Format.XML: "text/xml; charset=utf-8",
    Format.JSON: "application/json; charset=utf-8",
}


def render_result(result: Result, fmt: Format, *, namespace: str | None = None) -> bytes:
    """``result`` as an XML or JSON document, byte-exact to the reference (§3)."""
    if fmt is Format.JSON:
        return render_json(result)
    return render_xml(result, namespace=namespace)


def render_xml(result: Result, *, namespace: str | None = None) -> bytes:
    root = result.root
    opening = f"<{root} xmlns={quoteattr(namespace)}>" if namespace else f"<{root}>"
    parts = [XML_DECLARATION, opening, "\n"]
    for name, value in result.fields():
        parts.append(f"<{name}>{escape(str(value))}</{name}>\n")
    parts.append(f"</{root}>\n")
    return "".join(parts).encode()


def render_json(result: Result) -> bytes:
    doc = {
        name: (int(value) if name in INT_FIELDS else str(value)) for name, value in result.fields()
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
