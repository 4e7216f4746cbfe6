"""Per-number caps (4081/4086/4082) and the account rate cap (4090).

Caps count accepted Submits per (account, number) in sliding windows of 1 min, 1 h and
24 h. A passing check *reserves* a slot at once (so concurrent requests cannot both pass)
and the reservation is released if the request is then refused or is a replay.
:class:`MemoryNumberCaps` serves one process (warmed from the store's recent calls at
start); :class:`RedisNumberCaps` lets many processes share the counts. Likewise the rate
cap: :class:`MemoryRateCap` for one process, :class:`RedisRateCap` shared.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from voiceotp.gateway.settings import NumberCaps
from voiceotp.protocol import Code

DAY_S = 86_400.0
# (span in seconds, NumberCaps field, code), tightest first: the first full window answers.
WINDOWS: tuple[tuple[float, str, Code], ...] = (
    (60.0, "per_minute", Code.NUMBER_MINUTE_CAP),
    (3_600.0, "per_hour", Code.NUMBER_HOUR_CAP),
    (DAY_S, "per_24h", Code.NUMBER_DAY_CAP),
)


@dataclass(frozen=True, slots=True)
class CapRefusal:
    code: Code
    limit: int


@dataclass(frozen=True, slots=True)
class Reservation:
    key: tuple[int, str]
    token: str
    at: float


class NumberCapCounter(Protocol):
    async def reserve(
        self, account_id: int, mobile: str, now: float, caps: NumberCaps
    ) -> Reservation | CapRefusal: ...

    async def release(self, reservation: Reservation) -> None: ...


def first_exceeded(times: Iterable[float], now: float, caps: NumberCaps) -> CapRefusal | None:
    """The tightest window already full, or None (0 means no cap)."""
    recent = [t for t in times if now - t < DAY_S]
    for span, name, code in WINDOWS:
        limit = getattr(caps, name)
        if limit and sum(1 for t in recent if now - t < span) >= limit:
            return CapRefusal(code, limit)
    return None


@dataclass
class MemoryNumberCaps:
    """Caps for one process: accepted times per (account, number), dropped after 24 h."""

    # Tuples, not lists: containers of floats and strs drop out of the cyclic GC's sight.
    _times: dict[tuple[int, str], tuple[tuple[float, str], ...]] = field(default_factory=dict)
    # Keys in the order they were used, so stale ones are found a few at a time (a full
    # scan of every number seen in 24 h stalled the loop: a p99 spike).
    _order: deque[tuple[float, tuple[int, str]]] = field(default_factory=deque)
    _tokens: Iterator[int] = field(default_factory=itertools.count)

    def warm(self, rows: Iterable[tuple[int, str, float]]) -> None:
        """Load (account_id, mobile, created_at) of calls accepted in the last 24 h."""
        for account_id, mobile, at in sorted(rows, key=lambda row: row[2]):
            key = (account_id, mobile)
            self._times[key] = (*self._times.get(key, ()), (at, "stored"))
            self._order.append((at, key))

    async def reserve(
        self, account_id: int, mobile: str, now: float, caps: NumberCaps
    ) -> Reservation | CapRefusal:
        key = (account_id, mobile)
        known = self._times.get(key)
        entries = tuple(e for e in known if now - e[0] < DAY_S) if known else ()
        refusal = first_exceeded((t for t, _ in entries), now, caps)
        if refusal is not None:
            self._times[key] = entries
            return refusal
        token = str(next(self._tokens))
        self._times[key] = (*entries, (now, token))
        self._order.append((now, key))
        self._drop_stale(now)
        return Reservation(key, token, now)

    async def release(self, reservation: Reservation) -> None:
        entries = self._times.get(reservation.key, ())
        self._times[reservation.key] = tuple(e for e in entries if e[1] != reservation.token)

    def _drop_stale(self, now: float) -> None:
        """Forget numbers whose newest entry is a day old (amortised O(1) per reserve)."""
        order = self._order
        while order and now - order[0][0] >= DAY_S:
            _, key = order.popleft()
            entries = self._times.get(key)
            if entries is not None and (not entries or now - entries[-1][0] >= DAY_S):
                del self._times[key]


# KEYS[1] zset of "time:token"; ARGV: now, token, then (span, limit) x 3 in window order.
_RESERVE_LUA = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400)
for i = 0, 2 do
  local span = tonumber(ARGV[3 + 2 * i])
  local limit = tonumber(ARGV[4 + 2 * i])
  if limit > 0 and redis.call('ZCOUNT', KEYS[1], '(' .. (now - span), '+inf') >= limit then
    return i + 1
  end
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('EXPIRE', KEYS[1], 86400)
return 0
"""


class RedisNumberCaps:
    """Caps shared by every process through Redis (one sorted set per account and number)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_RESERVE_LUA)

    def _key(self, account_id: int, mobile: str) -> str:
        return f"{self._prefix}caps:{account_id}:{mobile}"

    async def reserve(
        self, account_id: int, mobile: str, now: float, caps: NumberCaps
    ) -> Reservation | CapRefusal:
        token = f"{now}:{secrets.token_hex(8)}"
        args: list[Any] = [now, token]
        for span, name, _ in WINDOWS:
            args += [span, getattr(caps, name)]
        hit = int(await self._script(keys=[self._key(account_id, mobile)], args=args))
        if hit:
            _, name, code = WINDOWS[hit - 1]
            return CapRefusal(code, getattr(caps, name))
        return Reservation((account_id, mobile), token, now)

    async def release(self, reservation: Reservation) -> None:
        await self._client.zrem(self._key(*reservation.key), reservation.token)


class RateCap(Protocol):
    async def allow(self, account_id: int, rate: int, now: float) -> bool:
        """True when the account may send one more request now (``rate`` 0 = no cap)."""
        ...


@dataclass
class MemoryRateCap:
    """Token bucket per account, for one process: ``rate`` requests per second, bursts of
    ``rate``."""

    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)  # tokens, at

    async def allow(self, account_id: int, rate: int, now: float) -> bool:
        if rate <= 0:
            return True
        tokens, at = self._buckets.get(account_id, (float(rate), now))
        tokens = min(float(rate), tokens + max(0.0, now - at) * rate)
        if tokens < 1.0:
            self._buckets[account_id] = (tokens, now)
            return False
        self._buckets[account_id] = (tokens - 1.0, now)
        return True


# KEYS[1] hash {t = tokens, at = time}; ARGV: now, rate. The same bucket as MemoryRateCap;
# ``at`` never moves back (a process whose clock lags refills nothing twice). A bucket is
# full again 1 s after its last use, so a missing one is a full one: it expires after 2 s.
_RATE_LUA = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1]) or rate
local at = tonumber(state[2]) or now
tokens = math.min(rate, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
at = math.max(at, now)
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
redis.call('PEXPIRE', KEYS[1], 2000)
return allowed
"""


class RedisRateCap:
    """The account rate cap shared by every process: one token bucket per account in Redis
    (a Lua script, one round trip; none for an account without a rate cap)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._prefix = prefix
        self._script = client.register_script(_RATE_LUA)

    async def allow(self, account_id: int, rate: int, now: float) -> bool:
        if rate <= 0:
            return True
        key = f"{self._prefix}rate:{account_id}"
        return bool(int(await self._script(keys=[key], args=[repr(now), rate])))
