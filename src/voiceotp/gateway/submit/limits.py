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
from voiceotp.gateway.submit.turnbatch import TurnBatch
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


# Per reservation, KEYS: its zset of "time:token"; 8 ARGV: now, token, then (span, limit)
# x 3 in window order. Returns per reservation 0 (reserved) or the full window's index.
# The reservations of one loop turn come in one call, in order (as if sent one by one).
_RESERVE_LUA = """
local out = {}
for r = 1, #KEYS do
  local key, a = KEYS[r], 8 * (r - 1)
  local now = tonumber(ARGV[a + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - 86400)
  local hit = 0
  for i = 0, 2 do
    local span = tonumber(ARGV[a + 3 + 2 * i])
    local limit = tonumber(ARGV[a + 4 + 2 * i])
    if hit == 0 and limit > 0 then
      if redis.call('ZCOUNT', key, '(' .. (now - span), '+inf') >= limit then
        hit = i + 1
      end
    end
  end
  if hit == 0 then
    redis.call('ZADD', key, now, ARGV[a + 2])
    redis.call('EXPIRE', key, 86400)
  end
  table.insert(out, hit)
end
return out
"""
_Ask = tuple[int, str, float, NumberCaps, str]  # account id, mobile, now, caps, token


class RedisNumberCaps:
    """Caps shared by every process through Redis (one sorted set per account and number;
    the reservations of one loop turn in one script call)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_RESERVE_LUA)
        self._reserve = TurnBatch(self._send)

    def _key(self, account_id: int, mobile: str) -> str:
        return f"{self._prefix}caps:{account_id}:{mobile}"

    async def reserve(
        self, account_id: int, mobile: str, now: float, caps: NumberCaps
    ) -> Reservation | CapRefusal:
        token = f"{now}:{secrets.token_hex(8)}"
        hit = await self._reserve((account_id, mobile, now, caps, token))
        if hit:
            _, name, code = WINDOWS[hit - 1]
            return CapRefusal(code, getattr(caps, name))
        return Reservation((account_id, mobile), token, now)

    async def _send(self, asks: list[_Ask]) -> list[int]:
        keys: list[str] = []
        args: list[Any] = []
        for account_id, mobile, now, caps, token in asks:
            keys.append(self._key(account_id, mobile))
            args += [repr(now), token]
            for span, name, _ in WINDOWS:
                args += [span, getattr(caps, name)]
        return [int(hit) for hit in await self._script(keys=keys, args=args)]

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


# Per request, KEYS: its account's hash {t = tokens, at = time}; 2 ARGV: now, rate. The
# same bucket as MemoryRateCap; ``at`` never moves back (a process whose clock lags
# refills nothing twice). A bucket is full again 1 s after its last use, so a missing one
# is a full one: it may expire any time after that (a minute: clocks and slow turns have
# room). The requests of one loop turn come in one call.
_RATE_LUA = """
local out = {}
for r = 1, #KEYS do
  local now, rate = tonumber(ARGV[2 * r - 1]), tonumber(ARGV[2 * r])
  local state = redis.call('HMGET', KEYS[r], 't', 'at')
  local tokens = tonumber(state[1]) or rate
  local at = tonumber(state[2]) or now
  tokens = math.min(rate, tokens + math.max(0, now - at) * rate)
  local allowed = 0
  if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
  end
  at = math.max(at, now)
  redis.call('HSET', KEYS[r], 't', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
  redis.call('EXPIRE', KEYS[r], 60)
  table.insert(out, allowed)
end
return out
"""


class RedisRateCap:
    """The account rate cap shared by every process: one token bucket per account in Redis
    (a Lua script; none for an account without a rate cap; one call per loop turn)."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._prefix = prefix
        self._script = client.register_script(_RATE_LUA)
        self._allow = TurnBatch(self._send)

    async def allow(self, account_id: int, rate: int, now: float) -> bool:
        if rate <= 0:
            return True
        return await self._allow((account_id, rate, now))

    async def _send(self, asks: list[tuple[int, int, float]]) -> list[bool]:
        keys = [f"{self._prefix}rate:{account_id}" for account_id, _, _ in asks]
        args: list[Any] = []
        for _, rate, now in asks:
            args += [repr(now), rate]
        return [bool(int(x)) for x in await self._script(keys=keys, args=args)]
