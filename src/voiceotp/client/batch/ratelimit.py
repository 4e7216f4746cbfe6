"""Pacing: a token bucket (requests per second) that slows down when the service says so.

On 4090 (too frequent) or 0 (failed, retry later) the engine calls
:meth:`AdaptiveRate.slow_down`: the rate halves (multiplicative decrease, at most once per
cool-down so one burst of refusals counts once); each success adds back a little (additive
increase) up to the configured ceiling. An unlimited bucket starts limiting at half the
rate it was actually running at.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

_EPSILON = 1e-9
_POLL_S = 0.1  # a slow rate must not keep a stopped run waiting for its next token
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """``rate`` tokens per second, holding up to ``burst``; ``rate=None`` never waits."""

    def __init__(
        self,
        rate: float | None,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self._clock = clock
        self._sleep = sleep
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate or 1.0)
        self._tokens = self.burst
        self._stamp = clock()

    async def acquire(self, give_up: Callable[[], bool] | None = None) -> bool:
        """Wait until a token is available and take it (True); False if ``give_up()``
        turned true while waiting (checked at least every ``_POLL_S``)."""
        while not self.try_take():
            if give_up is not None and give_up():
                return False
            await self._sleep(min(_POLL_S, (1 - self._tokens) / (self.rate or 1.0)))
        return True

    def try_take(self) -> bool:
        """Take a token if one is available now (always, when unlimited)."""
        if self.rate is None:
            return True
        self._refill()
        if self._tokens >= 1 - _EPSILON:
            self._tokens = max(0.0, self._tokens - 1)
            return True
        return False

    def set_rate(self, rate: float | None) -> None:
        self._refill()
        self.rate = rate
        if rate is not None:
            self._tokens = min(self._tokens, max(1.0, min(self.burst, rate)))

    def _refill(self) -> None:
        now = self._clock()
        if self.rate is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now


class AdaptiveRate:
    """A token bucket whose rate follows the service's refusals (AIMD)."""

    def __init__(
        self,
        rate: float | None = None,
        burst: float | None = None,
        *,
        min_rate: float = 1.0,
        cooldown_s: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.bucket = TokenBucket(rate, burst, clock=clock, sleep=sleep)
        self.ceiling = rate
        self.min_rate = min_rate
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._last_slowdown: float | None = None
        self._recent: deque[float] = deque(maxlen=64)
        self._unlimited_below = 0.0  # without a ceiling: back to unlimited at this rate
        self.slowdowns = 0

    @property
    def rate(self) -> float | None:
        return self.bucket.rate

    def try_acquire(self) -> bool:
        """A token now (True), or False when the caller must wait with :meth:`acquire`."""
        if self.bucket.try_take():
            self._recent.append(self._clock())
            return True
        return False

    async def acquire(self, give_up: Callable[[], bool] | None = None) -> bool:
        """A token (True), or False when ``give_up()`` became true while waiting."""
        if not await self.bucket.acquire(give_up):
            return False
        self._recent.append(self._clock())
        return True

    def slow_down(self) -> None:
        """Halve the rate (once per cool-down)."""
        now = self._clock()
        if self._last_slowdown is not None and now - self._last_slowdown < self._cooldown_s:
            return
        self._last_slowdown = now
        current = self.bucket.rate
        if current is None:
            current = self._unlimited_below = self.observed_rate()
        self.bucket.set_rate(max(self.min_rate, current / 2))
        self.slowdowns += 1

    def speed_up(self) -> None:
        """A success: creep back towards the ceiling (or to unlimited when there is none)."""
        current = self.bucket.rate
        if current is None or current == self.ceiling:
            return
        step = max(0.5, (self.ceiling or current) / 50)
        target = current + step
        if self.ceiling is not None:
            self.bucket.set_rate(min(self.ceiling, target))
        elif target >= self._unlimited_below:
            self.bucket.set_rate(None)
        else:
            self.bucket.set_rate(target)

    def observed_rate(self) -> float:
        """Requests per second over the last few acquisitions."""
        if len(self._recent) < 2:
            return 2 * self.min_rate
        span = self._recent[-1] - self._recent[0]
        return (len(self._recent) - 1) / span if span > 0 else 1000.0
