"""SIP messages, sans I/O: parse a datagram, build requests and responses (RFC 3261 §7).

Only what a UAC placing calls needs: compact header forms, header parameters, the top
Via, tags, and bodies framed by Content-Length.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from voiceotp.errors import (
    SipParseError as SipParseError,  # re-exported: defined in voiceotp.errors
)

__all__ = [
    "SipMessage",
    "SipParseError",
    "header_params",
    "new_branch",
    "new_tag",
    "parse_message",
    "uri_of",
]

_COMPACT = {
    "i": "call-id",
    "v": "via",
    "f": "from",
    "t": "to",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
}
_URI_IN_BRACKETS = re.compile(r"<([^>]*)>")
MAGIC_COOKIE = "z9hG4bK"


@dataclass
class SipMessage:
    """A request (``method`` set) or a response (``status`` set)."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    #: Where a received message came from; responses to a request go back there.
    source: tuple[str, int] | None = field(default=None, compare=False)

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str, default: str = "") -> str:
        """First value of header ``name`` (case-insensitive, compact forms understood)."""
        wanted = _canonical(name)
        for key, value in self.headers:
            if _canonical(key) == wanted:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, comma-separated values split (not for auth headers)."""
        wanted = _canonical(name)
        values: list[str] = []
        for key, value in self.headers:
            if _canonical(key) == wanted:
                values.extend(v.strip() for v in _split_commas(value))
        return values

    @property
    def call_id(self) -> str:
        return self.get("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = self.get("CSeq").strip().partition(" ")
        return int(number or 0), method.strip()

    @property
    def branch(self) -> str:
        """The top Via's branch (only the first Via value is split: it is read for every
        response a transaction is offered)."""
        top = _first_value(self.get("Via"))
        return header_params(top).get("branch", "") if top else ""

    def to_bytes(self) -> bytes:
        """Serialise, setting Content-Length from the body."""
        if self.is_request:
            start = f"{self.method} {self.uri} SIP/2.0"
        else:
            start = f"SIP/2.0 {self.status} {self.reason}"
        lines = [start]
        lines.extend(f"{k}: {v}" for k, v in self.headers if _canonical(k) != "content-length")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def _canonical(name: str) -> str:
    lowered = name.strip().lower()
    return _COMPACT.get(lowered, lowered)


def _first_value(value: str) -> str:
    """The first of comma-separated values (``_split_commas(value)[0]``, stripped)."""
    if '"' not in value and "<" not in value:  # a Via: no quotes, no brackets
        return value.split(",", 1)[0].strip()
    return _split_commas(value)[0].strip()


def _split_commas(value: str) -> list[str]:
    """Split on commas outside quotes and angle brackets."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(value):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "<>":
            depth += 1 if ch == "<" else -1
        elif ch == "," and not quoted and depth == 0:
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return parts


def parse_message(data: bytes) -> SipMessage:
    """Parse one UDP datagram into a :class:`SipMessage`."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise SipParseError("no end of headers")
    try:
        lines = head.decode("utf-8").split("\r\n")
    except UnicodeDecodeError as exc:
        raise SipParseError("headers are not UTF-8") from exc
    message = _parse_start_line(lines[0])
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and message.headers:  # folded continuation line
            key, value = message.headers[-1]
            message.headers[-1] = (key, f"{value} {line.strip()}")
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise SipParseError(f"header line without a colon ({len(line)} chars)")
        message.headers.append((key.strip(), value.strip()))
    length = message.get("Content-Length")
    message.body = body[: int(length)] if length.isdigit() else body
    number, _, method = message.get("CSeq").strip().partition(" ")
    if not message.call_id or not number.isdigit() or not method.strip():
        raise SipParseError("missing Call-ID or unreadable CSeq")
    return message


def _parse_start_line(line: str) -> SipMessage:
    parts = line.split(" ", 2)
    if len(parts) < 2:
        raise SipParseError("bad start line")
    if parts[0] == "SIP/2.0":
        if not parts[1].isdigit() or not 100 <= int(parts[1]) <= 699:
            raise SipParseError("bad status line")
        return SipMessage(status=int(parts[1]), reason=parts[2] if len(parts) > 2 else "")
    if len(parts) != 3 or parts[2] != "SIP/2.0":
        raise SipParseError("bad request line")
    return SipMessage(method=parts[0], uri=parts[1])


def header_params(value: str) -> dict[str, str]:
    """``;name=value`` parameters after the URI part of a header value (lower-case names)."""
    tail = value.rsplit(">", 1)[1] if ">" in value else value
    params: dict[str, str] = {}
    for item in tail.split(";")[1:]:
        name, _, val = item.strip().partition("=")
        params[name.lower()] = val.strip('"')
    return params


def uri_of(value: str) -> str:
    """The URI inside a From/To/Contact/Route value."""
    match = _URI_IN_BRACKETS.search(value)
    return match.group(1) if match else value.split(";", 1)[0].strip()


def new_branch() -> str:
    """An RFC 3261 branch id (magic cookie + randomness)."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)
