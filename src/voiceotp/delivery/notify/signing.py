"""Signing status pushes, and checking them on the receiving side.

``X-Voiceotp-Signature: sha256=<hex>`` is HMAC-SHA256 keyed by the account's APIKEY over
``timestamp + "." + body``, where ``timestamp`` is the ``X-Voiceotp-Timestamp`` header
(integer Unix seconds). Binding the timestamp stops replays of old pushes once they are
older than the receiver's ``max_age_s``.

A receiver (any framework)::

    from voiceotp.delivery.notify import verify_signature
    ok = verify_signature(body, request.headers["X-Voiceotp-Timestamp"],
                          request.headers["X-Voiceotp-Signature"], apikey)
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "sign_body",
    "signature_headers",
    "verify_signature",
]

TIMESTAMP_HEADER = "X-Voiceotp-Timestamp"
SIGNATURE_HEADER = "X-Voiceotp-Signature"
_PREFIX = "sha256="


def sign_body(body: bytes, timestamp: int, apikey: str) -> str:
    """Hex HMAC-SHA256 of ``timestamp + "." + body`` keyed by ``apikey``."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(apikey.encode(), message, hashlib.sha256).hexdigest()


def signature_headers(body: bytes, timestamp: int, apikey: str) -> dict[str, str]:
    """The two headers a push carries."""
    return {
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: _PREFIX + sign_body(body, timestamp, apikey),
    }


def verify_signature(
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    apikey: str,
    *,
    max_age_s: float = 300.0,
    now: float | None = None,
) -> bool:
    """True when ``signature`` (the header value, ``sha256=<hex>``) signs ``body`` at
    ``timestamp`` with ``apikey`` and the timestamp is within ``max_age_s`` of ``now``.
    Compares in constant time; any malformed input is simply False."""
    if not timestamp or not signature or not signature.startswith(_PREFIX):
        return False
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > max_age_s:
        return False
    expected = _PREFIX + sign_body(body, int(timestamp), apikey)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())
