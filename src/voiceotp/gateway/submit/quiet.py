"""Quiet hours: the daily window in which no voice notification is dialed.

``"21:00-08:00"`` (the default) wraps midnight; ``""`` means none. Times are read in the
account's IANA time zone (DST included, via zoneinfo). A notice accepted inside the
window is queued with ``not_before`` = the window's end; one whose validity ends first is
never dialed (it ends QUIET_EXPIRED, docs/notices.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["QuietHours", "parse_quiet_hours", "zone"]

_SPEC = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """From ``start`` to ``end`` (local times; ``start > end`` wraps midnight)."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def opens_at(self, now: float, tz: ZoneInfo) -> float:
        """When the window ends if ``now`` lies in it (Unix s), else 0 (dial at once)."""
        local = datetime.fromtimestamp(now, tz)
        clock = local.timetz().replace(tzinfo=None)
        wraps = self.start > self.end
        inside = (
            (clock >= self.start or clock < self.end) if wraps else (self.start <= clock < self.end)
        )
        if not inside:
            return 0.0
        day = local.date() if clock < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tz).timestamp()


def parse_quiet_hours(spec: str) -> QuietHours | None:
    """``"21:00-08:00"`` -> QuietHours; ``""`` -> None; ValueError otherwise."""
    if spec == "":
        return None
    found = _SPEC.fullmatch(spec.strip())
    if found is None:
        raise ValueError(f"quiet hours are HH:MM-HH:MM (e.g. 21:00-08:00), not {spec!r}")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if (h1, m1) == (h2, m2):
        raise ValueError("quiet hours must not start and end at the same time")
    return QuietHours(time(h1, m1), time(h2, m2))


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (ValueError when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Asia/Shanghai)") from exc
