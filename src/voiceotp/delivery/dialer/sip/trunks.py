"""Choosing a trunk for a call, sans I/O: priority, weight (RFC 2782), per-trunk limits.

For each call the trunks are ranked: lower ``priority`` first; among equal priorities a
weighted random order as RFC 2782 orders SRV records (each next one drawn with a
probability proportional to its ``weight``; weight 0 comes after the others). The call
goes to the first trunk in that order that is up and under its limits (``max_concurrent``
calls at once, ``calls_per_s`` new calls a second); a trunk at its limit is skipped for
the next one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import TypeVar

from voiceotp.delivery.dialer.sip.config import SipTrunk

__all__ = ["TrunkLoad", "check_trunks", "rank_trunks", "weighted_order"]

T = TypeVar("T")


def check_trunks(trunks: Sequence[SipTrunk]) -> None:
    """Refuse a list of trunks the dialer could not run: none, names used twice, or two
    trunks on one fixed local SIP port (each trunk has its own socket)."""
    if not trunks:
        raise ValueError("need at least one trunk")
    labels = [t.label for t in trunks]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ValueError(f"trunk names must be unique (give each a name): {', '.join(twice)}")
    binds = [(t.bind_host, t.bind_port) for t in trunks if t.bind_port]
    if len(binds) != len(set(binds)):
        raise ValueError("each trunk needs its own bind_port (or 0 for an ephemeral port)")


def weighted_order(items: Sequence[T], weights: Sequence[int], rand: random.Random) -> list[T]:
    """RFC 2782's order of equal-priority targets: each next target drawn with probability
    weight / remaining total, by a running sum.

    RFC 2782 draws from 0 to the total *inclusive*, which gives the first entry an extra
    1/(total + 1): with weights 3:1 the first gets 80 % instead of 75 %. We draw from 1, so
    the shares are exact and weight 0 is a true last resort (in configured order)."""
    pool = list(zip(items, weights, strict=True))
    ordered: list[T] = []
    while pool:
        total = sum(weight for _, weight in pool)
        pick = rand.randint(1, total) if total else 0
        running = 0
        for index, (item, weight) in enumerate(pool):
            running += weight
            if running >= pick:
                ordered.append(item)
                del pool[index]
                break
    return ordered


def rank_trunks(trunks: Sequence[SipTrunk], rand: random.Random) -> list[SipTrunk]:
    """The trunks in the order one call tries them (before health and limits)."""
    ranked: list[SipTrunk] = []
    by_priority = sorted(trunks, key=lambda t: t.priority)  # stable: config order kept
    for _, group in groupby(by_priority, key=lambda t: t.priority):
        members = list(group)
        ranked += weighted_order(members, [t.weight for t in members], rand)
    return ranked


@dataclass
class TrunkLoad:
    """One trunk's calls in flight and its calls/s bucket (times: monotonic seconds)."""

    max_concurrent: int = 0  # 0: no cap
    calls_per_s: float = 0.0  # 0: no cap
    in_flight: int = 0
    _tokens: float = field(default=0.0, init=False)
    _at: float | None = field(default=None, init=False)

    @property
    def capacity(self) -> float:
        return float(max(1, math.ceil(self.calls_per_s)))

    def _refill(self, now: float) -> None:
        if self._at is None:
            self._tokens = self.capacity
        else:
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.calls_per_s)
        self._at = now

    def free(self, now: float) -> bool:
        """Whether a call may start on this trunk now."""
        if self.max_concurrent and self.in_flight >= self.max_concurrent:
            return False
        if not self.calls_per_s:
            return True
        self._refill(now)
        return self._tokens >= 1

    def free_at(self, now: float) -> float:
        """When a call may start here as far as time goes: when the calls/s bucket has a
        token, ``inf`` at the concurrency cap (only a call ending frees that, and the
        dialer is told when one does)."""
        if self.max_concurrent and self.in_flight >= self.max_concurrent:
            return math.inf
        if not self.calls_per_s:
            return now
        self._refill(now)
        return now + max(0.0, (1 - self._tokens) / self.calls_per_s)

    def take(self, now: float) -> None:
        """A call starts (call :meth:`free` first)."""
        self.in_flight += 1
        if self.calls_per_s:
            self._refill(now)
            self._tokens -= 1

    def release(self) -> None:
        self.in_flight -= 1
