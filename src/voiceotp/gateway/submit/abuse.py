"""Abuse auto-freeze (code 408): detectors over accepted Submits and call outcomes.

- many distinct numbers from one account in a short window (a leaked key being used);
- a burst to numbers sharing a 7-digit prefix (number pumping into a premium range);
- a failure ratio over a minimum number of finished calls (fed by delivery).

A detector that fires freezes the account (state ``abuse_frozen``), writes an audit
event naming it, and stays quiet until an operator clears the freeze. A threshold of 0
switches a detector off. An account may carry its own thresholds (its allowance, e.g.
for batches to its own number range): :meth:`AbuseDetector.accepted` takes the limits
that apply to it. What is counted lives in :class:`MemoryAbuseCounts` (this process) or
``abuseredis.RedisAbuseCounts`` (every process, through Redis: a line crossed is seen by
one process only, so the account is frozen once). The failure ratio is fed by whichever
process ends the call (``serve`` with delivery, or ``voiceotp dialer``).

Why the defaults (docs/gateway.md, "Abuse auto-freeze"): login codes spread over the
whole numbering plan, so an account rarely reaches even a few numbers of one 7-digit
prefix (10,000 numbers) in ten minutes, while a company's batch to its own range
reaches hundreds of them at once (a batch of 200 froze an account at the old 100 in
60 s). 500 in 10 minutes lets such batches through and still stops a pumping run of one
call a second through a range within minutes; larger batches are an account's
allowance. Likewise 5,000 distinct numbers in 10 minutes (about 8 new numbers a second
for 10 minutes) is above what an ordinary account sends, and a leaked key spraying at
the batch sender's pace still trips it within minutes.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from voiceotp.store import Store

log = logging.getLogger(__name__)

Freeze = Callable[[int, str, str], Awaitable[None]]  # account_id, detector, detail


@dataclass(frozen=True, slots=True)
class AbuseLimits:
    distinct_numbers: int = 5000  # distinct numbers per account ...
    distinct_window_s: float = 600.0  # ... within this window
    prefix_burst: int = 500  # accepted Submits to one 7-digit prefix ...
    prefix_window_s: float = 600.0  # ... within this window
    failure_ratio: float = 0.0  # fraction of failed calls (0 = off) ...
    failure_min_calls: int = 100  # ... once this many calls finished


@dataclass(frozen=True, slots=True)
class Trip:
    """A detector's line crossed: which one, and what it counted (``of``: for a ratio)."""

    detector: str
    count: int
    of: int = 0


class AbuseCounts(Protocol):
    """What the detectors count. The detector calls :meth:`forget` after a :class:`Trip`;
    shared counts also reset the tripped count in the same atomic step that saw it cross,
    so concurrent processes cannot both see it (one freeze, one audit event)."""

    async def submit(
        self, account_id: int, mobile: str, now: float, limits: AbuseLimits
    ) -> Trip | None: ...

    async def call(self, account_id: int, connected: bool, limits: AbuseLimits) -> Trip | None: ...

    async def forget(self, account_id: int) -> None: ...


@dataclass
class _Window:
    """Timestamped items inside a sliding window, and how often each occurs (so the
    number of distinct items costs nothing per Submit, whatever the threshold)."""

    span: float
    items: deque[tuple[float, str]] = field(default_factory=deque)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, now: float, item: str) -> None:
        self.items.append((now, item))
        self.counts[item] += 1
        while self.items and now - self.items[0][0] >= self.span:
            _, gone = self.items.popleft()
            self.counts[gone] -= 1
            if not self.counts[gone]:
                del self.counts[gone]


class MemoryAbuseCounts:
    """The detectors' counts in this process (without Redis)."""

    def __init__(self) -> None:
        self._numbers: dict[int, _Window] = {}
        self._prefixes: dict[tuple[int, str], _Window] = {}
        self._outcomes: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # [calls, failed]

    async def submit(
        self, account_id: int, mobile: str, now: float, limits: AbuseLimits
    ) -> Trip | None:
        if limits.distinct_numbers:
            window = self._numbers.setdefault(account_id, _Window(limits.distinct_window_s))
            window.add(now, mobile)
            if len(window.counts) > limits.distinct_numbers:
                return Trip("distinct_numbers", len(window.counts))
        if limits.prefix_burst:
            key = (account_id, prefix_of(mobile))
            window = self._prefixes.setdefault(key, _Window(limits.prefix_window_s))
            window.add(now, mobile)
            if len(window.items) > limits.prefix_burst:
                return Trip("prefix_burst", len(window.items))
        return None

    async def call(self, account_id: int, connected: bool, limits: AbuseLimits) -> Trip | None:
        counts = self._outcomes[account_id]
        counts[0] += 1
        counts[1] += 0 if connected else 1
        calls, failed = counts
        if calls >= limits.failure_min_calls and failed / calls >= limits.failure_ratio:
            return Trip("failure_ratio", failed, calls)
        return None

    async def forget(self, account_id: int) -> None:
        self._numbers.pop(account_id, None)
        self._outcomes.pop(account_id, None)
        for key in [k for k in self._prefixes if k[0] == account_id]:
            del self._prefixes[key]


def prefix_of(mobile: str) -> str:
    """The 7-digit prefix the burst detector counts by."""
    return mobile[:7]


class AbuseDetector:
    """Watches accepted Submits and call outcomes; calls ``freeze`` when a limit is crossed."""

    def __init__(
        self, limits: AbuseLimits, freeze: Freeze, counts: AbuseCounts | None = None
    ) -> None:
        self._limits = limits
        self._freeze = freeze
        self.counts: AbuseCounts = counts or MemoryAbuseCounts()

    async def accepted(
        self, account_id: int, mobile: str, now: float, limits: AbuseLimits | None = None
    ) -> None:
        """Record one accepted Submit, judged by ``limits`` (default: the server's)."""
        limits = limits or self._limits
        if not (limits.distinct_numbers or limits.prefix_burst):
            return
        trip = await self.counts.submit(account_id, mobile, now, limits)
        if trip is None:
            return
        if trip.detector == "distinct_numbers":
            detail = f"{trip.count} distinct numbers within {limits.distinct_window_s:g} s"
            limit = limits.distinct_numbers
        else:
            detail = f"{trip.count} to {prefix_of(mobile)}xxxx within {limits.prefix_window_s:g} s"
            limit = limits.prefix_burst
        await self._fire(account_id, trip.detector, f"{detail} (limit {limit})")

    async def call_finished(self, account_id: int, connected: bool) -> None:
        """Record a finished call (delivery calls this)."""
        if not self._limits.failure_ratio:
            return
        trip = await self.counts.call(account_id, connected, self._limits)
        if trip is not None:
            await self._fire(account_id, trip.detector, f"{trip.count}/{trip.of} failed")

    async def _fire(self, account_id: int, detector: str, detail: str) -> None:
        await self.counts.forget(account_id)  # counting starts afresh after a freeze
        await self._freeze(account_id, detector, detail)  # it logs, by the account's APIID


async def freeze_account(
    store: Store, account_id: int, detector: str, detail: str, now: float
) -> str | None:
    """Set the account to ``abuse_frozen`` with an audit event and a log line naming it by
    its APIID; returns that name (None: no such account). The API processes and the
    dialer processes (failure ratio) freeze the same way."""
    name = await store.account_name(account_id)
    if name is None:
        return None
    await store.update_account(name, state="abuse_frozen")
    await store.record_audit(
        account_id=account_id, kind="abuse_freeze", detail=f"{detector}: {detail}", now=now
    )
    log.warning(
        "abuse detector %s froze account %s (%s); it is answered 408 until an operator"
        " clears it: voiceotp admin clear-abuse %s",
        detector,
        name,
        detail,
        name,
    )
    return name
