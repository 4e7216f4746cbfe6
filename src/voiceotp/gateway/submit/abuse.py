"""Abuse auto-freeze (code 408): detectors over accepted Submits and call outcomes.

- many distinct numbers from one account in a short window (a leaked key being used);
- a burst to numbers sharing a 7-digit prefix (number pumping into a premium range);
- a failure ratio over a minimum number of finished calls (fed by delivery).

A detector that fires freezes the account (state ``abuse_frozen``), writes an audit
event naming it, and stays quiet until an operator clears the freeze. A threshold of 0
switches a detector off. State is per process.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
Freeze = Callable[[int, str, str], Awaitable[None]]  # account_id, detector, detail


@dataclass(frozen=True, slots=True)
class AbuseLimits:
    distinct_numbers: int = 1000  # distinct numbers per account ...
    distinct_window_s: float = 600.0  # ... within this window
    prefix_burst: int = 100  # accepted Submits to one 7-digit prefix ...
    prefix_window_s: float = 60.0  # ... within this window
    failure_ratio: float = 0.0  # fraction of failed calls (0 = off) ...
    failure_min_calls: int = 100  # ... once this many calls finished


@dataclass
class _Window:
    """Timestamped items inside a sliding window."""

    span: float
    items: deque[tuple[float, str]] = field(default_factory=deque)

    def add(self, now: float, item: str) -> None:
        self.items.append((now, item))
        while self.items and now - self.items[0][0] >= self.span:
            self.items.popleft()


class AbuseDetector:
    """Watches accepted Submits and call outcomes; calls ``freeze`` when a limit is crossed."""

    def __init__(self, limits: AbuseLimits, freeze: Freeze) -> None:
        self._limits = limits
        self._freeze = freeze
        self._numbers: dict[int, _Window] = {}
        self._prefixes: dict[tuple[int, str], _Window] = {}
        self._outcomes: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # [calls, failed]

    async def accepted(self, account_id: int, mobile: str, now: float) -> None:
        """Record one accepted Submit."""
        limits = self._limits
        if limits.distinct_numbers:
            window = self._numbers.setdefault(account_id, _Window(limits.distinct_window_s))
            window.add(now, mobile)
            distinct = len({m for _, m in window.items})
            if distinct > limits.distinct_numbers:
                await self._fire(account_id, "distinct_numbers", f"{distinct} numbers")
                return
        if limits.prefix_burst:
            key = (account_id, mobile[:7])
            window = self._prefixes.setdefault(key, _Window(limits.prefix_window_s))
            window.add(now, mobile)
            if len(window.items) > limits.prefix_burst:
                await self._fire(account_id, "prefix_burst", f"{len(window.items)} to {key[1]}")

    async def call_finished(self, account_id: int, connected: bool) -> None:
        """Record a finished call (delivery calls this)."""
        if not self._limits.failure_ratio:
            return
        counts = self._outcomes[account_id]
        counts[0] += 1
        counts[1] += 0 if connected else 1
        calls, failed = counts
        if calls >= self._limits.failure_min_calls and failed / calls >= self._limits.failure_ratio:
            await self._fire(account_id, "failure_ratio", f"{failed}/{calls} failed")

    def forget(self, account_id: int) -> None:
        """Drop what was counted for the account (after a freeze, counting starts afresh)."""
        self._numbers.pop(account_id, None)
        self._outcomes.pop(account_id, None)
        for key in [k for k in self._prefixes if k[0] == account_id]:
            del self._prefixes[key]

    async def _fire(self, account_id: int, detector: str, detail: str) -> None:
        self.forget(account_id)
        log.warning("abuse detector %s froze account id %d (%s)", detector, account_id, detail)
        await self._freeze(account_id, detector, detail)
