"""Mainland mobile numbers: the gateway's strict rule and the client's normalisation.

The gateway accepts exactly ``^1[3-9][0-9]{9}$`` in ASCII (§6). The client is lenient
with what people type — ``+86 138-0013-8000``, ``0086 13800138000``, ``86138…``,
full-width digits — and normalises it to those 11 digits, refusing anything else before
a billable request is made. This is a fixed rule, not phonenumbers' carrier metadata,
so client and gateway always agree on what is a number.
"""

from __future__ import annotations

import re

_STRICT = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[\s\-().\u3000]+")
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def is_valid_mobile(value: str) -> bool:
    """True when ``value`` is exactly 11 ASCII digits of a mainland mobile number."""
    return _STRICT.fullmatch(value) is not None


def normalize_mobile(value: str) -> str | None:
    """``value`` as 11 ASCII digits, or None when it is not a mainland mobile number."""
    digits = _SEPARATORS.sub("", value.translate(_FULLWIDTH))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if is_valid_mobile(digits) else None


def mask_mobile(value: str) -> str:
    """``13800138000`` -> ``138****8000``; anything else is masked almost whole."""
    if len(value) >= 7:
        return f"{value[:3]}****{value[-4:]}"
    return "*" * len(value)
