"""The one fake clock of the tests: time moves only when a test moves it or the code under
test sleeps, so nothing waits and nothing depends on the machine's speed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class FakeClock:
    """Wall and monotonic time in one (``clock()``, ``clock.time()``, ``clock.monotonic()``),
    with ``await clock.sleep(s)`` and ``clock.sleep_sync(s)`` that advance it at once.

    Every sleep is recorded in ``sleeps`` (``slept`` is their total); ``on_sleep(n)``, if
    set, runs after the n-th. The async sleep yields to the event loop once, as a real
    sleep would, so other tasks get their turn.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[int], None] | None = None

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def slept(self) -> float:
        return sum(self.sleeps)

    def sleep_sync(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)  # a negative sleep returns at once, as asyncio's does
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))

    async def sleep(self, seconds: float) -> None:
        self.sleep_sync(seconds)
        await asyncio.sleep(0)
