"""The scale-out Queue: Redis Streams with one consumer group (redis-py asyncio).

- ``enqueue``: ``XADD`` (approximate ``MAXLEN`` trimming); a job with a future
  ``not_before`` waits in a sorted set and is moved to the stream when due, atomically,
  by a small Lua script that ``receive`` runs first (streams have no delayed delivery).
- ``receive``: ``XREADGROUP ... >`` leases new entries to the consumer (pending list),
  pipelined after the promotion (one round trip).
- ``ack``: ``XACK``; ``extend``: ``XCLAIM ... JUSTID`` by the owner resets the idle time.
- ``claim_stale``: ``XAUTOCLAIM`` takes entries idle for ``idle_s`` (their consumer died)
  and ``XPENDING`` tells how often each was delivered.
- ``dead_letter``: ``XADD`` to a second stream, then ``XACK``.

Idle times are measured by the Redis server in wall time. Trimming drops the oldest
entries even when they are unacked: keep ``maxlen`` far above the backlog (the call rows
stay ``queued`` in the store, so such a job is not lost for good; see docs/delivery.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import NoScriptError, ResponseError

from voiceotp.delivery.queue.base import Delivery, Job, decode_job, encode_job

__all__ = ["RedisQueue", "connect"]

_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'job', job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
"""


def connect(url: str, *, max_connections: int = 100, wait_s: float = 10.0) -> Redis:
    """A client for ``url`` whose pool, once ``max_connections`` are busy, waits up to
    ``wait_s`` for one to come back. redis-py's default pool (100) raises
    MaxConnectionsError instead: a dialer with hundreds of calls in flight (each acks and
    renews its job) or an API process with as many Submits (each enqueues) lost jobs to it,
    left for the sweep to find ``requeue_after_s`` later."""
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=wait_s)
    return Redis.from_pool(pool)


class RedisQueue:
    """A :class:`~voiceotp.delivery.queue.base.Queue` on Redis Streams.

    Keys: ``{prefix}:jobs`` (stream), ``{prefix}:delayed`` (sorted set),
    ``{prefix}:dead`` (stream); consumer group ``group``. ``clock`` decides when delayed
    jobs are due. Call :meth:`setup` once (it creates the group; idempotent).
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "voiceotp",
        group: str = "dialers",
        maxlen: int = 1_000_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis, self.group, self.maxlen = redis, group, maxlen
        self.stream, self.delayed, self.dead = (
            f"{prefix}:{k}" for k in ("jobs", "delayed", "dead")
        )
        self._clock = clock
        self._promote = redis.register_script(_PROMOTE)

    async def setup(self) -> None:
        """Create the stream and the consumer group if they do not exist."""
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def enqueue(self, job: Job) -> None:
        payload = encode_job(job)
        if job.not_before > self._clock():
            await self.redis.zadd(self.delayed, {payload: job.not_before})
        else:
            await self.redis.xadd(
                self.stream, {"job": payload}, maxlen=self.maxlen, approximate=True
            )

    async def receive(
        self, consumer: str, *, count: int = 1, block_s: float = 0.0
    ) -> list[Delivery]:
        keys, now = [self.delayed, self.stream], self._clock()
        args: list[str | int] = [repr(now), count, self.maxlen]
        block = int(block_s * 1000) if block_s > 0 else None  # BLOCK 0 would wait forever
        # One round trip for both (a pipeline, in this order): the promotion by EVALSHA;
        # a Redis that lost the script (restarted, SCRIPT FLUSH) gets it loaded and run
        # after this read, so its due jobs come with the next one.
        pipe = self.redis.pipeline(transaction=False)
        pipe.evalsha(self._promote.sha, len(keys), *keys, *args)
        pipe.xreadgroup(self.group, consumer, {self.stream: ">"}, count=count, block=block)
        promoted, answer = await pipe.execute(raise_on_error=False)
        if isinstance(promoted, NoScriptError):
            await self._promote(keys=keys, args=args)
        elif isinstance(promoted, Exception):
            raise promoted
        if isinstance(answer, Exception):
            raise answer
        return [Delivery(_job(f), _text(i), 1) for _, entries in answer or [] for i, f in entries]

    async def ack(self, delivery: Delivery) -> None:
        await self.redis.xack(self.stream, self.group, delivery.receipt)

    async def extend(self, delivery: Delivery) -> None:
        # The owner re-claims its own entry: idle time back to 0, delivery count unchanged.
        owner = await self._owner(delivery.receipt)
        if owner is not None:
            await self.redis.xclaim(
                self.stream, self.group, owner, 0, [delivery.receipt], justid=True
            )

    async def claim_stale(self, consumer: str, *, idle_s: float, count: int = 10) -> list[Delivery]:
        answer: Any = await self.redis.xautoclaim(
            self.stream, self.group, consumer, int(idle_s * 1000), "0-0", count=count
        )
        entries = [(i, f) for i, f in answer[1] if f]  # trimmed entries come back empty
        if not entries:
            return []
        counts = await self._delivery_counts([_text(i) for i, _ in entries])
        return [Delivery(_job(f), _text(i), counts.get(_text(i), 1)) for i, f in entries]

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        fields = {"job": encode_job(delivery.job), "reason": reason}
        await self.redis.xadd(self.dead, fields)  # type: ignore[arg-type]
        await self.ack(delivery)

    async def dead_letters(self) -> list[tuple[Job, str]]:
        entries: Any = await self.redis.xrange(self.dead)
        return [(_job(f), _text(f.get(b"reason", f.get("reason", "")))) for _, f in entries]

    async def pending_count(self) -> int:
        summary: Any = await self.redis.xpending(self.stream, self.group)
        return int(summary["pending"])

    async def aclose(self) -> None:
        """Close the Redis client (the queue owns the client it was given)."""
        await self.redis.aclose()

    async def _owner(self, receipt: str) -> str | None:
        rows: Any = await self.redis.xpending_range(self.stream, self.group, receipt, receipt, 1)
        return _text(rows[0]["consumer"]) if rows else None

    async def _delivery_counts(self, receipts: list[str]) -> dict[str, int]:
        counts = {}
        for receipt in receipts:  # claims are rare; one exact lookup each
            rows: Any = await self.redis.xpending_range(
                self.stream, self.group, receipt, receipt, 1
            )
            if rows:
                counts[receipt] = int(rows[0]["times_delivered"])
        return counts


def _job(fields: dict[Any, Any]) -> Job:
    return decode_job(fields[b"job"] if b"job" in fields else fields["job"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
