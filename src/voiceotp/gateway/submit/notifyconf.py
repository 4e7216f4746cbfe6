"""Settings of voice notifications (``[gateway.notify]`` in TOML, ``VOICEOTP_NOTIFY`` as
JSON): see docs/notify.md."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from voiceotp.errors import SettingsError
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

    @classmethod
    def from_mapping(cls, raw: Any) -> NotifySettings:
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise SettingsError(f"unknown notify setting(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name == "hosts":
                items = value.split(",") if isinstance(value, str) else list(value)
                values[name] = tuple(str(i).strip().lower() for i in items if str(i).strip())
            else:
                values[name] = type(getattr(cls(), name))(value)
        return cls(**values).checked()

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
    if isinstance(raw, NotifySettings):
        return raw.checked()
    return NotifySettings.from_mapping(json.loads(raw) if isinstance(raw, str) else raw)
