"""The embedded Queue: the store's ``calls`` table is the queue (durable by construction).

A ``queued`` call row whose ``not_before`` has come *is* a job (attempt ``attempts + 1``,
that ``not_before``), so jobs survive any restart without a second copy, and a crash
between accept and enqueue cannot lose one. :meth:`StoreQueue.enqueue` therefore writes
nothing: it only wakes a waiting :meth:`receive` (the gateway calls it right after
accepting, which keeps submit -> INVITE latency low; without it a receive polls every
``block_s``).

Leases are per process and in memory (``receipt`` = voiceid): a row handed out is not handed
out again by this queue until it is acked or goes stale. An ack ends the lease, not the
job: a row still ``queued`` after its ack (nobody claimed it) is handed out again — only
the fence moves a row on. Several processes on one store may receive the same row; the
fence grants it to one of them. For many dialer processes use
:class:`~voiceotp.delivery.queue.redis.RedisQueue` (``voiceotp dialer`` with Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from voiceotp.delivery.queue.base import Delivery, Job
from voiceotp.store.base import Store

__all__ = ["StoreQueue"]

_DUE = (
    "SELECT voiceid, deadline, attempts, not_before FROM calls "
    "WHERE state = 'queued' AND not_before <= $1 ORDER BY created_at LIMIT $2"
)


@dataclass
class _Lease:
    delivery: Delivery
    since: float


class StoreQueue:
    """A :class:`~voiceotp.delivery.queue.base.Queue` reading due calls from ``store``."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock
        self._leased: dict[str, _Lease] = {}
        self._dead: list[tuple[Job, str]] = []
        self._dead_ids: set[str] = set()
        self._wake = asyncio.Event()

    async def enqueue(self, job: Job) -> None:
        """The row already is the job: wake a waiting receive."""
        self._wake.set()

    async def receive(
        self, consumer: str, *, count: int = 1, block_s: float = 0.0
    ) -> list[Delivery]:
        self._wake.clear()  # before reading: an enqueue during the read still wakes us
        found = await self._take(count)
        if not found and block_s > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(block_s):
                    await self._wake.wait()
            found = await self._take(count)
        return found

    async def _take(self, count: int) -> list[Delivery]:
        now = self._clock()
        skip = len(self._leased) + len(self._dead_ids)
        rows = await self.store.read(_DUE, now, count + skip)
        taken: list[Delivery] = []
        for voiceid, deadline, attempts, not_before in rows:
            receipt = str(voiceid)
            if receipt in self._leased or receipt in self._dead_ids:
                continue
            job = Job(receipt, float(deadline), int(attempts) + 1, float(not_before))
            delivery = Delivery(job, receipt)
            self._leased[receipt] = _Lease(delivery, now)
            taken.append(delivery)
            if len(taken) == count:
                break
        return taken

    async def ack(self, delivery: Delivery) -> None:
        self._leased.pop(delivery.receipt, None)

    async def extend(self, delivery: Delivery) -> None:
        lease = self._leased.get(delivery.receipt)
        if lease is not None:
            lease.since = self._clock()

    async def claim_stale(self, consumer: str, *, idle_s: float, count: int = 10) -> list[Delivery]:
        now, claimed = self._clock(), list[Delivery]()
        for lease in self._leased.values():
            if len(claimed) >= count:
                break
            if now - lease.since >= idle_s:
                old = lease.delivery
                lease.delivery = Delivery(old.job, old.receipt, old.deliveries + 1)
                lease.since = now
                claimed.append(lease.delivery)
        return claimed

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Park it: this process stops handing the row out (the sweep ends it at its
        deadline)."""
        self._dead.append((delivery.job, reason))
        self._dead_ids.add(delivery.receipt)
        await self.ack(delivery)

    async def dead_letters(self) -> list[tuple[Job, str]]:
        return list(self._dead)

    async def pending_count(self) -> int:
        return len(self._leased)

    async def aclose(self) -> None:
        return None
