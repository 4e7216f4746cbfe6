"""A fake clock for delivery tests: sleeping advances it instantly (and yields once)."""

from __future__ import annotations

import asyncio


class FakeClock:
    """``clock()`` and ``sleep()`` for components that take injected time."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        self.slept += max(0.0, seconds)
        await asyncio.sleep(0)
