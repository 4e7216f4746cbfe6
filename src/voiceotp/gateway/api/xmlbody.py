"""Untrusted XML request bodies: parsed by defusedxml, in the encoding they declare.

defusedxml refuses a DTD, entity declarations and external references at the parser, so
the refusal holds in every encoding (a byte search for ``<!DOCTYPE`` misses UTF-16).
Expat reads UTF-8, UTF-16 and single-byte encodings itself but no multi-byte one, so a
body whose prolog declares e.g. GBK, Big5 or Shift_JIS is decoded here first and handed
to the parser as UTF-8.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from voiceotp.errors import (
    UnreadableXml as UnreadableXml,  # re-exported: defined in voiceotp.errors
)

# The declaration must open the document (after a UTF-8 BOM at most); ASCII in every
# encoding this module decodes (UTF-16 bodies are left to the parser).
_DECLARATION = re.compile(rb"<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(rb"""\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")
# WHATWG: the labels gb2312 and gbk decode as GB18030 (their superset), as browsers do.
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030"}


def parse_untrusted(body: bytes) -> ET.Element:
    """The root element of ``body``, or UnreadableXml."""
    try:
        return fromstring(_as_parsed(body), forbid_dtd=True)
    except DefusedXmlException as exc:  # before ValueError: it is one
        raise UnreadableXml(f"DTDs and entity declarations are not accepted ({exc})") from exc
    except ET.ParseError as exc:
        raise UnreadableXml(f"the body is not well-formed XML ({exc})") from exc
    except (ValueError, LookupError) as exc:  # e.g. an encoding the parser cannot read
        raise UnreadableXml(f"the body cannot be read as XML ({exc})") from exc


def _as_parsed(body: bytes) -> bytes:
    """``body`` as the parser should get it: unchanged, or re-encoded as UTF-8 when its
    declaration names an encoding other than UTF-8 (the declaration is then dropped)."""
    text = body.removeprefix(codecs.BOM_UTF8)
    declaration = _DECLARATION.match(text)
    found = _ENCODING.search(declaration.group(0)) if declaration else None
    if declaration is None or found is None:
        return body
    label = found.group(1).decode("ascii").lower()
    try:
        codec = codecs.lookup(_SUPERSET.get(label, label)).name
    except LookupError as exc:
        raise UnreadableXml(f"unknown encoding {label!r} in the XML declaration") from exc
    if codec == "utf-8":
        return body
    try:
        decoded = text[declaration.end() :].decode(codec)
    except (UnicodeDecodeError, LookupError) as exc:  # LookupError: not a text encoding
        raise UnreadableXml(f"the body is not valid {label} ({exc})") from exc
    return decoded.encode("utf-8")
