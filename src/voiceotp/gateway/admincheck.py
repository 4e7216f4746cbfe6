"""What the admin accepts: every bound and check on operator input, in one place.

The Admin service runs these checks, so the JSON API and the ``voiceotp admin`` CLI
refuse the same things; the CLI's option types run them too, so a bad number fails
before the store is opened. The bounds follow the stores:

- balances and adjustments: at most ``MAX_BALANCE`` (store.records), far below int64, so
  neither a balance nor SUM(ledger) can overflow (the store guards this again);
- rates and caps: ``rate_per_s``/``cap_*`` are INTEGER columns, int32 on PostgreSQL;
- text: fits its column, and holds no control or surrogate characters (PostgreSQL
  refuses NUL, and neither driver can encode a lone surrogate).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from typing import Any

from voiceotp.errors import AdminError as AdminError  # re-exported: defined in voiceotp.errors
from voiceotp.errors import NotFound as NotFound
from voiceotp.protocol import is_valid_mobile
from voiceotp.store.records import ACCOUNT_STATES, MAX_BALANCE, POLICY_KINDS

__all__ = [
    "INT32_MAX",
    "INT_RANGES",
    "MAX_BALANCE",
    "AdminError",
    "NotFound",
    "check_fraud_override",
]

INT32_MAX = 2**31 - 1
# Integer fields: (lowest, highest) accepted.
INT_RANGES: dict[str, tuple[int, int]] = {
    "balance": (0, MAX_BALANCE),  # an opening balance
    "units": (-MAX_BALANCE, MAX_BALANCE),  # one top-up (negative: removal)
    "rate_per_s": (0, INT32_MAX),
    "cap_minute": (0, INT32_MAX),
    "cap_hour": (0, INT32_MAX),
    "cap_day": (0, INT32_MAX),
    "abuse_distinct_numbers": (0, INT32_MAX),
    "abuse_prefix_burst": (0, INT32_MAX),
    "keep_numbers_days": (0, 36_500),
    "keep_audio_days": (0, 36_500),
    "low_balance_alert": (1, INT32_MAX),  # INTEGER column
}
MAX_REASON = 32  # ledger.reason is VARCHAR(32)
MAX_WORD = 128  # policy_entries.value is VARCHAR(128)
MAX_URL = 2048
MAX_ALLOW_IPS = 256

# Account settings and their JSON types; None clears the nullable ones (server default).
SETTINGS: dict[str, type] = {
    "require_dynamic": bool,
    "allow_ips": list,
    "rate_per_s": int,
    "cap_minute": int,
    "cap_hour": int,
    "cap_day": int,
    "callback_url": str,
    "refund_unconnected": bool,  # None: the server's charge policy
    "abuse_distinct_numbers": int,  # abuse allowance; None: the server's setting, 0: off
    "abuse_prefix_burst": int,
    "keep_numbers_days": int,  # retention overrides; None: the server's setting
    "keep_audio_days": int,
    "low_balance_alert": int,  # push when the balance falls below; None: off
    "state": str,
}
NULLABLE = frozenset(
    {
        "rate_per_s",
        "cap_minute",
        "cap_hour",
        "cap_day",
        "refund_unconnected",
        "abuse_distinct_numbers",
        "abuse_prefix_burst",
        "keep_numbers_days",
        "keep_audio_days",
        "low_balance_alert",
    }
)


def check_int(field: str, value: Any) -> int:
    """``value`` if it is an integer within ``INT_RANGES[field]``."""
    low, high = INT_RANGES[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise AdminError(f"{field} must be an integer")
    if not low <= value <= high:
        raise AdminError(f"{field} must be between {low} and {high}")
    return value


def check_text(field: str, value: Any, longest: int) -> str:
    """``value`` if it is a string of at most ``longest`` characters without control
    characters (NUL, newlines, ...) or lone surrogates."""
    if not isinstance(value, str):
        raise AdminError(f"{field} must be a string")
    if len(value) > longest:
        raise AdminError(f"{field} is at most {longest} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise AdminError(f"{field} must not contain control characters (NUL, newline, ...)")
    return value


def check_name(value: Any) -> str:
    """An APIID: V followed by 8 digits."""
    if not (
        isinstance(value, str)
        and len(value) == 9
        and value[0] == "V"
        and value[1:].isascii()
        and value[1:].isdigit()
    ):
        raise AdminError("an APIID is V followed by 8 digits")
    return value


def check_account_ref(value: Any) -> str:
    """A name to look an account up by: what an accounts.name can hold (VARCHAR(16)).
    Looser than :func:`check_name`, so accounts made straight in the store stay reachable."""
    if not (
        isinstance(value, str) and 0 < len(value) <= 16 and value.isascii() and value.isalnum()
    ):
        raise AdminError("not an account name: an APIID is V followed by 8 digits")
    return value


def check_reason(value: Any) -> str:
    reason = check_text("reason", value, MAX_REASON)
    if not reason.strip():
        raise AdminError("reason must not be empty")
    return reason


def check_setting(key: str, value: Any) -> Any:
    """``value`` for account setting ``key``, checked (AdminError says what is wrong)."""
    expected = SETTINGS.get(key)
    if expected is None:
        raise AdminError(f"not configurable: {key}")
    if value is None and key in NULLABLE:
        return None
    if key in INT_RANGES:
        return check_int(key, value)
    if not isinstance(value, expected):
        raise AdminError(f"{key} must be of type {expected.__name__}")
    if isinstance(value, list):
        return _check_allow_ips(value)
    if key == "state" and value not in ACCOUNT_STATES:
        raise AdminError(f"state must be one of {', '.join(ACCOUNT_STATES)}")
    if isinstance(value, str) and key == "callback_url":
        return _check_callback_url(value)
    return value


def check_policy_entry(kind: str, value: str) -> str:
    """A server-wide entry's value, in the one spelling the store keeps."""
    if kind not in POLICY_KINDS:
        raise AdminError(f"kind must be one of {', '.join(POLICY_KINDS)}")
    if kind == "deny_ip":  # one canonical spelling, so removal finds what was added
        net = network(value)
        return str(net.network_address) if net.num_addresses == 1 else str(net)
    if kind == "blacklist":
        return check_mobile(value)
    word = check_text("a sensitive word", value, MAX_WORD)
    if not word.strip():
        raise AdminError(f"a sensitive word is 1-{MAX_WORD} characters, not only spaces")
    return word


def check_mobile(value: Any) -> str:
    if not (isinstance(value, str) and is_valid_mobile(value)):
        raise AdminError("not a mainland mobile number (11 digits)")
    return value


def network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as exc:
        raise AdminError(f"not an IP or CIDR: {value!r}") from exc


def _check_callback_url(value: str) -> str:
    check_text("callback_url", value, MAX_URL)
    if value and not value.startswith(("http://", "https://")):
        raise AdminError("callback_url must be an http(s) URL")
    return value


def _check_allow_ips(value: list[Any]) -> list[str]:
    if len(value) > MAX_ALLOW_IPS:
        raise AdminError(f"allow_ips holds at most {MAX_ALLOW_IPS} entries")
    if not all(isinstance(item, str) for item in value):
        raise AdminError("allow_ips must be a list of IP/CIDR strings")
    for item in value:
        network(item)
    return list(value)


MAX_FRAUD_MIN_CODES = 10**6


def check_fraud_override(
    conversion: Any, codes: Any, prefixes: Any
) -> tuple[float | None, int | None, list[str]]:
    """An account's fraud-guard override: ``min_conversion`` from 0 to 1 and ``min_codes``
    (None: the server's), ``allow_prefixes`` a list of 1 to 11 ASCII digits each."""
    if conversion is not None and (
        isinstance(conversion, bool)
        or not isinstance(conversion, int | float)
        or not 0 <= conversion <= 1
    ):
        raise AdminError("min_conversion must be a number from 0 to 1, or null")
    if codes is not None and (
        isinstance(codes, bool)
        or not isinstance(codes, int)
        or not 0 <= codes <= MAX_FRAUD_MIN_CODES
    ):
        raise AdminError(f"min_codes must be an integer from 0 to {MAX_FRAUD_MIN_CODES}, or null")
    if not isinstance(prefixes, list) or not all(_is_prefix(p) for p in prefixes):
        raise AdminError("allow_prefixes must be a list of 1 to 11 ASCII digits each")
    return None if conversion is None else float(conversion), codes, prefixes


def _is_prefix(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 11 and value.isascii() and value.isdigit()
