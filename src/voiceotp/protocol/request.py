"""Decoding an incoming request (server side), like PHP's ``$_REQUEST`` (§1).

The body counts only when its Content-Type is a form; on conflict the body wins over
the query string; ``format`` selects XML unless it says json; ``method`` is
case-insensitive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from voiceotp.protocol.models import Format, Method

FORM_URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def body_kind(content_type: str | None) -> str | None:
    """``FORM_URLENCODED``, ``MULTIPART`` or None (the body is ignored)."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media if media in (FORM_URLENCODED, MULTIPART) else None


def parse_urlencoded(data: bytes | str) -> list[tuple[str, str]]:
    """Form pairs of a query string or urlencoded body; bad UTF-8 becomes U+FFFD."""
    if isinstance(data, str):
        return parse_qsl(data, keep_blank_values=True, encoding="utf-8", errors="replace")
    if data.isascii():  # the usual case: %-escapes are decoded as UTF-8 by parse_qsl itself
        text = data.decode("ascii")
        if "%" not in text and "+" not in text:
            # Nothing to unquote (typical of API clients): splitting gives parse_qsl's
            # pairs at a fraction of its cost (this runs twice per gateway request).
            return [
                (name, value) for name, _, value in (p.partition("=") for p in text.split("&") if p)
            ]
        return parse_qsl(text, keep_blank_values=True, errors="replace")
    # Latin-1 maps every byte to one character and back, so raw bytes and %-escapes both
    # survive parse_qsl unchanged; only then are they decoded as UTF-8.
    text = data.decode("latin-1")
    return [
        (_utf8(name), _utf8(value))
        for name, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1")
    ]


def _utf8(latin: str) -> str:
    return latin.encode("latin-1").decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """The merged parameters of one request, ready for the validation pipeline."""

    method: Method | None
    format: Format
    params: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """The parameter's value, or "" when absent."""
        return self.params.get(name, "")


def decode_request(
    query: Iterable[tuple[str, str]],
    form: Iterable[tuple[str, str]] = (),
) -> IncomingRequest:
    """Merge query and body pairs: like PHP, the last value of a name wins, the body last."""
    params = dict(query)
    params.update(form)
    return IncomingRequest(
        method=Method.lookup(params.get("method")),
        format=Format.select(params.get("format")),
        params=params,
    )
