"""The dynamic password (§4): md5 of the plain concatenation, lowercase hex.

Submit: ``md5(account + APIKEY + mobile + content + time)``;
GetNum and Query: ``md5(account + APIKEY + time)``.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

DEFAULT_WINDOW_S = 300


def dynamic_password(
    account: str,
    apikey: str,
    time: str,
    *,
    mobile: str | None = None,
    content: str | None = None,
) -> str:
    """The dynamic password; with ``mobile`` and ``content`` it is Submit's, else GetNum's."""
    parts = [account, apikey]
    if mobile is not None or content is not None:
        parts += [mobile or "", content or ""]
    parts.append(time)
    return hashlib.md5("".join(parts).encode(), usedforsecurity=False).hexdigest()


class Verdict(StrEnum):
    """Outcome of checking a password: STATIC and DYNAMIC pass, the rest fail."""

    STATIC = "static"  # the bare APIKEY
    DYNAMIC = "dynamic"  # a dynamic password inside the window
    WRONG = "wrong"  # -> 405
    EXPIRED = "expired"  # right dynamic password, time outside the window -> 40501


def verify_password(
    given: str,
    *,
    account: str,
    apikey: str,
    time: str | None,
    now: float,
    mobile: str | None = None,
    content: str | None = None,
    window_s: int = DEFAULT_WINDOW_S,
    allow_static: bool = True,
) -> Verdict:
    """Check ``given`` against the APIKEY or the dynamic password, in constant time.

    Hex is compared case-insensitively. A right dynamic password whose ``time`` lies more
    than ``window_s`` from ``now`` is EXPIRED; a wrong one is WRONG wherever its time lies.
    """
    candidate = given.strip().lower().encode("utf-8", "replace")
    if time and time.isascii() and time.isdigit():
        expected = dynamic_password(account, apikey, time, mobile=mobile, content=content)
        if hmac.compare_digest(candidate, expected.encode()):
            in_window = _within(now, time, window_s)
            return Verdict.DYNAMIC if in_window else Verdict.EXPIRED
    if allow_static and hmac.compare_digest(candidate, apikey.lower().encode()):
        return Verdict.STATIC
    return Verdict.WRONG


def _within(now: float, time: str, window_s: int) -> bool:
    try:
        return abs(now - int(time)) <= window_s
    except ValueError:  # more digits than int() accepts: certainly outside the window
        return False
