"""Settings of voice notifications (``[gateway.notify]`` in TOML, ``VOICEOTP_NOTIFY`` as
JSON): see docs/notices.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceotp.errors import SettingsError
from voiceotp.gateway.sections import coerce_section, listed
from voiceotp.gateway.submit.quiet import parse_quiet_hours, zone

__all__ = ["NotifySettings", "coerce_notify"]


@dataclass(frozen=True)
class NotifySettings:
    """Defaults of notices; an account's own quiet hours and time zone win."""

    # A notice not dialed within this long after its Submit never is (quiet hours
    # included: 24 h outlasts the default 11 h window).
    validity_s: int = 86_400
    quiet_hours: str = "21:00-08:00"  # "" = none
    time_zone: str = "Asia/Shanghai"
    # Host names (lower case, no port) whose /webservice/voice.php is the notification
    # product, as api.vm.ihuyi.com is ihuyi's. Only selects the product: never a redirect.
    hosts: tuple[str, ...] = ()

    def checked(self) -> NotifySettings:
        if self.validity_s <= 0:
            raise SettingsError("notify.validity_s must be > 0")
        try:
            parse_quiet_hours(self.quiet_hours)
            zone(self.time_zone)
        except ValueError as exc:
            raise SettingsError(f"notify: {exc}") from exc
        return self


def coerce_notify(raw: Any) -> NotifySettings:
    """``Settings.notify`` from a NotifySettings, a mapping, or JSON (environment)."""
    return coerce_section(NotifySettings, raw, "notify", {"hosts": listed(str.lower)})
