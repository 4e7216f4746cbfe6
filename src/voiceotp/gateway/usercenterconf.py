"""Settings of the customer user center (``Settings.user_center``; docs/user-center.md).

TOML ``[gateway.user_center]``, or ``VOICEOTP_USER_CENTER`` as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceotp.errors import AdminError, SettingsError
from voiceotp.gateway.admincheck import check_name
from voiceotp.gateway.sections import coerce_section

__all__ = ["UserCenterSettings", "coerce_user_center"]


@dataclass(frozen=True, slots=True)
class UserCenterSettings:
    """Sign-up, trial and upload limits of the user center."""

    signup: bool = True  # visitors may open trial accounts (免费体验)
    free_calls: int = 10  # units a trial account starts with
    # The account whose Verify calls the sign-up codes (made at start when missing; its
    # balance pays for them: top it up like any account).
    signup_account: str = "V99999999"
    signup_account_balance: int = 10_000  # its opening balance when it is made
    code_length: int = 6
    code_ttl_s: int = 300  # a sign-up code is good this long (and for 5 attempts)
    per_ip_hour: int = 5  # sign-up calls from one client IP per hour
    per_number_day: int = 3  # sign-up calls to one number per day
    max_upload_bytes: int = 5 * 1024 * 1024  # a certification licence file
    max_key_grace_s: int = 7 * 86_400  # the longest grace an old APIKEY may get

    def checked(self) -> UserCenterSettings:
        if not 4 <= self.code_length <= 6 or not 60 <= self.code_ttl_s <= 3600:
            raise SettingsError("user_center.code_length is 4-6, code_ttl_s 60-3600")
        numbers = (self.free_calls, self.per_ip_hour, self.per_number_day, self.max_upload_bytes)
        if min(numbers) < 0 or self.max_key_grace_s < 0:
            raise SettingsError("user_center limits cannot be negative")
        try:
            check_name(self.signup_account)
        except AdminError as exc:
            raise SettingsError(f"user_center.signup_account: {exc}") from exc
        return self


def coerce_user_center(raw: Any) -> UserCenterSettings:
    return coerce_section(UserCenterSettings, raw, "user_center")
