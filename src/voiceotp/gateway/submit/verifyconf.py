"""Settings of Verify/Check and of the fraud guard (``Settings.verify``; docs/verify.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceotp.errors import SettingsError
from voiceotp.gateway.sections import coerce_section, listed

TTL_MIN_S, TTL_MAX_S = 60, 3600  # the range in 4508's message


@dataclass(frozen=True, slots=True)
class VerifySettings:
    """Defaults of Verify, Check's limits, and the fraud guard's thresholds."""

    code_length: int = 6  # digits when the request names no ``length`` (4-6)
    ttl_s: int = 300  # validity when the request names no ``ttl`` (60-3600)
    max_attempts: int = 5  # Checks per code; the next one answers 4503
    # Brute-force throttle (4505): wrong codes per number / per account in the window,
    # across codes; 0 switches a limit off.
    wrong_per_number: int = 15
    wrong_per_account: int = 10_000
    wrong_window_s: float = 3600.0
    # Fraud guard (4506): per account and number prefix, the share of codes verified.
    fraud_guard: bool = True
    prefix_digits: int = 7  # a mainland number range (号段 + H code)
    windows_s: tuple[float, ...] = (3600.0, 86_400.0)
    min_codes: int = 30  # judged only after this many codes in a window
    min_conversion: float = 0.1  # throttled below this share verified
    grace_s: float = 600.0  # an unverified code younger than this is not judged yet
    refresh_s: float = 10.0  # how often the judgement is recomputed from the store
    allow_prefixes: tuple[str, ...] = ()  # never throttled (any account)

    def checked(self) -> VerifySettings:
        if not 4 <= self.code_length <= 6:
            raise SettingsError("verify.code_length must be 4 to 6")
        if not TTL_MIN_S <= self.ttl_s <= TTL_MAX_S:
            raise SettingsError(f"verify.ttl_s must be {TTL_MIN_S} to {TTL_MAX_S}")
        if self.max_attempts < 1 or not 0 <= self.min_conversion <= 1:
            raise SettingsError("verify.max_attempts >= 1, verify.min_conversion in 0..1")
        if not 3 <= self.prefix_digits <= 11 or not self.windows_s:
            raise SettingsError("verify.prefix_digits must be 3 to 11, windows_s not empty")
        return self


def coerce_verify(raw: Any) -> VerifySettings:
    """``Settings.verify`` from a VerifySettings, a mapping, or JSON (environment)."""
    return coerce_section(
        VerifySettings,
        raw,
        "verify",
        {"windows_s": listed(float), "allow_prefixes": listed(str)},
    )
