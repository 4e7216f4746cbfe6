"""The abuse detectors' counts in Redis, shared by every API process of a deployment.

Per account, under the deployment's ``redis_prefix``:
``abuse:n:<account>`` (sorted set: number -> last accepted), ``abuse:p:<account>:<prefix>``
(sorted set: one member per accepted Submit to that 7-digit prefix), ``abuse:ps:<account>``
(the prefixes counted, so a freeze can forget them) and ``abuse:f:<account>`` (hash: calls,
failed). A Lua script adds, trims the window, counts, and deletes a count that crossed its
line in the same step: of two processes racing past a line only one sees it cross. The
Submits accepted in one loop turn (a group commit's batch) share one script call. The
windowed keys expire a window after their last use, the failure counts a day after theirs.
"""

from __future__ import annotations

import functools
import math
import secrets
from typing import Any

from voiceotp.gateway.submit.abuse import AbuseLimits, Trip, prefix_of
from voiceotp.gateway.submit.turnbatch import TurnBatch

FAILURES_TTL_S = 86_400

# Per Submit, 3 KEYS: numbers, this prefix's Submits, the account's prefixes; 8 ARGV: now,
# mobile, token, prefix, distinct limit, its window, burst limit, its window. Returns per
# Submit {tripped, count}: 1 distinct_numbers, 2 prefix_burst, 0 none. In order, so a
# Submit after a trip in the same call is counted afresh, as if sent alone.
_SUBMIT_LUA = """
local out = {}
for s = 0, #KEYS / 3 - 1 do
  local k, a = 3 * s, 8 * s
  local now = tonumber(ARGV[a + 1])
  local checks = {{KEYS[k + 1], ARGV[a + 2], a + 5}, {KEYS[k + 2], ARGV[a + 3], a + 7}}
  local tripped, count = 0, 0
  for i, check in ipairs(checks) do
    local key, member = check[1], check[2]
    local limit, span = tonumber(ARGV[check[3]]), tonumber(ARGV[check[3] + 1])
    if tripped == 0 and limit > 0 then
      redis.call('ZADD', key, now, member)
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
      redis.call('EXPIRE', key, math.ceil(span))
      if i == 2 then
        redis.call('SADD', KEYS[k + 3], ARGV[a + 4])
        redis.call('EXPIRE', KEYS[k + 3], math.ceil(span))
      end
      local n = redis.call('ZCARD', key)
      if n > limit then
        redis.call('DEL', key)
        tripped, count = i, n
      end
    end
  end
  table.insert(out, tripped)
  table.insert(out, count)
end
return out
"""

# KEYS[1] the account's call outcomes; ARGV: 1 if this call failed, min calls, ratio, ttl.
_CALL_LUA = """
local calls = redis.call('HINCRBY', KEYS[1], 'calls', 1)
local failed = redis.call('HINCRBY', KEYS[1], 'failed', tonumber(ARGV[1]))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
if calls >= tonumber(ARGV[2]) and failed >= tonumber(ARGV[3]) * calls then
  redis.call('DEL', KEYS[1])
  return {calls, failed}
end
return {0, 0}
"""
_DETECTORS = {1: "distinct_numbers", 2: "prefix_burst"}
_Submit = tuple[int, str, float, AbuseLimits]  # account id, mobile, now, limits


class RedisAbuseCounts:
    """:class:`~voiceotp.gateway.submit.abuse.AbuseCounts` shared through Redis."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = f"{prefix}abuse:"
        self._submit_script = client.register_script(_SUBMIT_LUA)
        # The Submits of one loop turn (a group commit's batch) in one script call.
        self._submits = TurnBatch(self._send_submits)
        self._call = client.register_script(_CALL_LUA)

    async def submit(
        self, account_id: int, mobile: str, now: float, limits: AbuseLimits
    ) -> Trip | None:
        return await self._submits((account_id, mobile, now, limits))

    async def _send_submits(self, submits: list[_Submit]) -> list[Trip | None]:
        keys: list[str] = []
        args: list[Any] = []
        for account_id, mobile, now, limits in submits:
            prefix = prefix_of(mobile)
            key = functools.partial(self._key, account_id=account_id)
            keys += [key("n"), key("p", prefix), key("ps")]
            args += [repr(now), mobile, secrets.token_hex(8), prefix]
            args += [limits.distinct_numbers, repr(limits.distinct_window_s)]
            args += [limits.prefix_burst, repr(limits.prefix_window_s)]
        flat = [int(x) for x in await self._submit_script(keys=keys, args=args)]
        return [
            Trip(_DETECTORS[tripped], count) if tripped else None
            for tripped, count in zip(flat[::2], flat[1::2], strict=True)
        ]

    async def call(self, account_id: int, connected: bool, limits: AbuseLimits) -> Trip | None:
        args = [0 if connected else 1, limits.failure_min_calls, repr(limits.failure_ratio)]
        keys = [self._key("f", account_id=account_id)]
        calls, failed = (int(x) for x in await self._call(keys=keys, args=[*args, FAILURES_TTL_S]))
        return Trip("failure_ratio", failed, calls) if calls else None

    async def forget(self, account_id: int) -> None:
        key = functools.partial(self._key, account_id=account_id)
        burst = [key("p", _text(x)) for x in await self._client.smembers(key("ps"))]
        await self._client.delete(key("n"), key("ps"), key("f"), *burst)

    def _key(self, kind: str, prefix: str = "", *, account_id: int) -> str:
        return f"{self._prefix}{kind}:{account_id}" + (f":{prefix}" if prefix else "")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisWrongCodes:
    """Check's wrong codes per account (4505) for every process: a sorted set per account
    (``<prefix>wrong:<account>``, one member per wrong code), trimmed to the window as it
    grows, expiring a window after the last wrong code."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = f"{prefix}wrong:"

    async def count(self, account_id: int, now: float, window_s: float) -> int:
        key = f"{self._prefix}{account_id}"
        return int(await self._client.zcount(key, f"({now - window_s!r}", "+inf"))

    async def add(self, account_id: int, now: float, window_s: float) -> None:
        key = f"{self._prefix}{account_id}"
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {secrets.token_hex(8): now})
            pipe.zremrangebyscore(key, "-inf", now - window_s)
            pipe.expire(key, math.ceil(window_s))
            await pipe.execute()
