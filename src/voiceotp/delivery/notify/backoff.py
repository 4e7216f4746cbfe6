"""When to try a failed status push again: a growing, jittered schedule for up to 24 h."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["PushSchedule", "compute_push_delay", "next_push_at"]


@dataclass(frozen=True)
class PushSchedule:
    """Delay before try n+1 is ``min(cap_s, base_s * 2**(n-1))`` minus up to ``jitter`` of
    itself (jitter spreads a receiver's recovery load); no try after ``give_up_after_s``
    from the report's creation. Defaults: 30 s, 1 min, 2 min, ... then hourly, 24 h."""

    base_s: float = 30.0
    cap_s: float = 3600.0
    jitter: float = 0.2
    give_up_after_s: float = 86400.0

    def __post_init__(self) -> None:
        if not (0 < self.base_s <= self.cap_s and 0 <= self.jitter < 1):
            raise ValueError("need 0 < base_s <= cap_s and 0 <= jitter < 1")


def compute_push_delay(attempt: int, schedule: PushSchedule, rand: float | None = None) -> float:
    """Seconds to wait after failed try number ``attempt`` (1-based); pure given ``rand``."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    exponent = min(attempt - 1, 32)  # 2**32 * base is far past any cap
    base = min(schedule.cap_s, schedule.base_s * float(2**exponent))
    fraction = random.random() if rand is None else rand
    return base * (1 - schedule.jitter * fraction)


def next_push_at(
    *,
    created_at: float,
    attempt: int,
    now: float,
    schedule: PushSchedule,
    rand: float | None = None,
) -> float | None:
    """When to try again after failed try ``attempt``, or None: give up (24 h are over)."""
    at = now + compute_push_delay(attempt, schedule, rand)
    return at if at <= created_at + schedule.give_up_after_s else None
