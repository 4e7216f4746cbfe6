"""StoreQueue under the Queue contract: its jobs are ``queued`` rows of ``calls``, so
:class:`RowJobs` writes a row for each job the contract enqueues (under a voiceid of its
own: the contract's call ids need not be numbers) and maps the ids back on the way out."""

from __future__ import annotations

from dataclasses import replace

from voiceotp.delivery.queue import Delivery, Job
from voiceotp.delivery.queue.store import StoreQueue
from voiceotp.store.rows import Tx

_PUT = (
    "INSERT INTO calls (voiceid, account_id, mobile, content, state, created_at, deadline, "
    "attempts, not_before, sip_code, answer_time, end_time, duration) "
    "VALUES ($1, $2, '13800138000', '1125', 'queued', $3, $4, $5, $6, 0, 0, 0, 0) "
    "ON CONFLICT (voiceid) DO UPDATE SET state = 'queued', deadline = $4, attempts = $5, "
    "not_before = $6"
)


class RowJobs:
    """A :class:`Queue` that is ``inner`` (a StoreQueue) plus the accept that writes a row."""

    def __init__(self, inner: StoreQueue, account_id: int) -> None:
        self.inner, self.store, self.account_id = inner, inner.store, account_id
        self._numbers: dict[str, int] = {}
        self._names: dict[str, str] = {}

    async def enqueue(self, job: Job) -> None:
        number = self._numbers.setdefault(job.call_id, len(self._numbers) + 1)
        self._names[str(number)] = job.call_id
        created_at = 1_600_000_000.0 + number  # enqueue order is row order
        args = (number, self.account_id, created_at, job.deadline, job.attempt - 1, job.not_before)

        async def work(tx: Tx) -> None:
            await tx.execute(_PUT, *args)

        await self.store.transact(work)
        await self.inner.enqueue(replace(job, call_id=str(number)))

    async def receive(
        self, consumer: str, *, count: int = 1, block_s: float = 0.0
    ) -> list[Delivery]:
        got = await self.inner.receive(consumer, count=count, block_s=block_s)
        return [self._out(d) for d in got]

    async def ack(self, delivery: Delivery) -> None:
        await self.inner.ack(self._in(delivery))

    async def extend(self, delivery: Delivery) -> None:
        await self.inner.extend(self._in(delivery))

    async def claim_stale(self, consumer: str, *, idle_s: float, count: int = 10) -> list[Delivery]:
        got = await self.inner.claim_stale(consumer, idle_s=idle_s, count=count)
        return [self._out(d) for d in got]

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        await self.inner.dead_letter(self._in(delivery), reason)

    async def dead_letters(self) -> list[tuple[Job, str]]:
        return [(self._job_out(job), why) for job, why in await self.inner.dead_letters()]

    async def pending_count(self) -> int:
        return await self.inner.pending_count()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def _job_out(self, job: Job) -> Job:
        return replace(job, call_id=self._names[job.call_id])

    def _out(self, delivery: Delivery) -> Delivery:
        return replace(delivery, job=self._job_out(delivery.job))

    def _in(self, delivery: Delivery) -> Delivery:
        job = delivery.job
        return replace(delivery, job=replace(job, call_id=str(self._numbers[job.call_id])))
