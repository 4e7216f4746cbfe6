"""Per-trunk limits: calls per second (a token bucket) and concurrent calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["TokenBucket", "TrunkLimits"]


@dataclass(frozen=True)
class TrunkLimits:
    """What one trunk (one Dialer) accepts: at most ``max_concurrent`` calls at once and
    ``calls_per_s`` new calls per second on average, in bursts of up to ``burst``."""

    max_concurrent: int = 30
    calls_per_s: float = 10.0
    burst: int = 10

    def __post_init__(self) -> None:
        if self.max_concurrent < 1 or self.calls_per_s <= 0 or self.burst < 1:
            raise ValueError("trunk limits must be positive")


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up; :meth:`take` waits."""

    def __init__(
        self,
        rate: float,
        capacity: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate, self.capacity = rate, float(capacity)
        self._clock, self._sleep = clock, sleep
        self._tokens, self._at = float(capacity), clock()
        self._lock = asyncio.Lock()  # waiters are served in arrival order

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now

    async def take(self) -> None:
        """Remove one token, sleeping until one is available."""
        async with self._lock:
            self._refill()
            while self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1
