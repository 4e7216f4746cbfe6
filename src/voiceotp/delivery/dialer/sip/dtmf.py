"""Keys the callee presses, sans I/O: RFC 4733 telephone-events in RTP, or SIP INFO
bodies (``application/dtmf-relay``, ``application/dtmf``) from gateways that send them.

An RFC 4733 key press arrives as several packets with one RTP timestamp (the event's
start), the last three flagged "end"; a new timestamp is a new press. A key is taken at
its first packet, so the replay starts while the callee still holds the key.
"""

from __future__ import annotations

import re

__all__ = ["EVENT_PAYLOAD_TYPE", "KEYS", "EventDecoder", "info_key"]

KEYS = "0123456789*#"  # RFC 4733 §3.2: events 0-9, 10 = *, 11 = #
EVENT_PAYLOAD_TYPE = 101  # what we offer for telephone-event (a dynamic type, RFC 3551)
_SIGNAL = re.compile(r"^\s*signal\s*=\s*(\S)", re.IGNORECASE | re.MULTILINE)


class EventDecoder:
    """Turns the telephone-event packets of one stream into key presses."""

    def __init__(self) -> None:
        self._last_start: int | None = None

    def key(self, payload: bytes, timestamp: int) -> str | None:
        """The key of a new press, or ``None`` (a repeat of the current one, not a key)."""
        if len(payload) < 4 or payload[0] >= len(KEYS):
            return None  # flash, tones and other events are not keys
        if timestamp == self._last_start:
            return None
        self._last_start = timestamp
        return KEYS[payload[0]]


def info_key(content_type: str, body: bytes) -> str | None:
    """The key a SIP INFO carries: ``Signal=1`` (dtmf-relay) or ``1`` (dtmf)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    text = body.decode("ascii", "replace")
    if kind == "application/dtmf-relay":
        match = _SIGNAL.search(text)
        key = match.group(1) if match else ""
    elif kind == "application/dtmf":
        key = text.strip()[:1]
    else:
        return None
    return key if key and key in KEYS else None
