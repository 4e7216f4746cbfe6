"""In-memory Queue and CallFence: real implementations for tests and the embedded demo
(dramatiq's StubBroker idea), not mocks. Not durable: a restart loses every job."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from voiceotp.delivery.dialer.base import CallOutcome
from voiceotp.delivery.queue.base import CallTicket, Claim, ClaimVerdict, Delivery, Job

__all__ = ["CallRow", "MemoryFence", "MemoryQueue"]


@dataclass
class _Lease:
    job: Job
    consumer: str
    since: float
    deliveries: int


class MemoryQueue:
    """A :class:`~voiceotp.delivery.queue.base.Queue` in process memory, with ``join()``.

    Time comes from ``clock``; a blocking ``receive`` waits through ``sleep`` (or until a
    job arrives), so tests with a fake clock never wait in real time.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._ready: deque[tuple[str, Job, int]] = deque()
        self._delayed: list[tuple[float, int, Job]] = []
        self._leased: dict[str, _Lease] = {}
        self._dead: list[tuple[Job, str]] = []
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()

    async def enqueue(self, job: Job) -> None:
        self._drained.clear()
        if job.not_before > self._clock():
            heapq.heappush(self._delayed, (job.not_before, next(self._ids), job))
        else:
            self._ready.append((str(next(self._ids)), job, 0))
            self._arrived.set()

    async def receive(
        self, consumer: str, *, count: int = 1, block_s: float = 0.0
    ) -> list[Delivery]:
        found = self._take(consumer, count)
        if not found and block_s > 0:
            self._arrived.clear()
            sleeper = asyncio.ensure_future(self._sleep(block_s))
            waker = asyncio.ensure_future(self._arrived.wait())
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            waker.cancel()
            found = self._take(consumer, count)
        return found

    def _take(self, consumer: str, count: int) -> list[Delivery]:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _, seq, job = heapq.heappop(self._delayed)
            self._ready.append((str(seq), job, 0))
        taken: list[Delivery] = []
        while self._ready and len(taken) < count:
            receipt, job, deliveries = self._ready.popleft()
            self._leased[receipt] = _Lease(job, consumer, now, deliveries + 1)
            taken.append(Delivery(job, receipt, deliveries + 1))
        return taken

    async def ack(self, delivery: Delivery) -> None:
        self._leased.pop(delivery.receipt, None)
        self._check_drained()

    async def extend(self, delivery: Delivery) -> None:
        lease = self._leased.get(delivery.receipt)
        if lease is not None:
            lease.since = self._clock()

    async def claim_stale(self, consumer: str, *, idle_s: float, count: int = 10) -> list[Delivery]:
        now, claimed = self._clock(), list[Delivery]()
        for receipt, lease in self._leased.items():
            if len(claimed) >= count:
                break
            if now - lease.since >= idle_s:
                lease.consumer, lease.since = consumer, now
                lease.deliveries += 1
                claimed.append(Delivery(lease.job, receipt, lease.deliveries))
        return claimed

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        self._dead.append((delivery.job, reason))
        await self.ack(delivery)

    async def dead_letters(self) -> list[tuple[Job, str]]:
        return list(self._dead)

    async def pending_count(self) -> int:
        return len(self._leased)

    async def aclose(self) -> None:
        return None

    async def join(self) -> None:
        """Wait until every job enqueued so far (and every redial they caused) is acked."""
        await self._drained.wait()

    def _check_drained(self) -> None:
        if not (self._ready or self._delayed or self._leased):
            self._drained.set()


@dataclass
class CallRow:
    """One call row as MemoryFence keeps it: state, attempt counter, lease, attempt log."""

    ticket: CallTicket
    state: str = "queued"  # queued -> dialing -> done
    attempt: int = 0
    worker: str | None = None
    lease_until: float = 0.0
    outcomes: list[tuple[int, CallOutcome]] = field(default_factory=list)


class MemoryFence:
    """The reference :class:`~voiceotp.delivery.queue.base.CallFence` (the SQL store must
    behave the same: see tests/delivery/queue/test_fence.py)."""

    def __init__(self) -> None:
        self.rows: dict[str, CallRow] = {}
        self.dial_grants: list[tuple[str, int]] = []  # every GRANTED claim, in order

    def add(self, ticket: CallTicket) -> None:
        """A freshly accepted call, state ``queued``."""
        self.rows[ticket.call_id] = CallRow(ticket)

    async def claim_for_dialing(
        self, call_id: str, *, attempt: int, worker: str, now: float, lease_s: float
    ) -> Claim:
        row = self.rows.get(call_id)
        if row is None or row.state == "done":
            return Claim(ClaimVerdict.SETTLED, row.attempt if row else 0)
        if row.state == "dialing":
            live = row.lease_until > now
            return Claim(ClaimVerdict.IN_FLIGHT if live else ClaimVerdict.ORPHANED, row.attempt)
        if row.attempt != attempt - 1:
            return Claim(ClaimVerdict.SETTLED, row.attempt)  # a stale copy of an older attempt
        row.state, row.attempt, row.worker, row.lease_until = (
            "dialing",
            attempt,
            worker,
            now + lease_s,
        )
        self.dial_grants.append((call_id, attempt))
        return Claim(ClaimVerdict.GRANTED, attempt, row.ticket)

    async def finish(self, call_id: str, outcome: CallOutcome, *, attempt: int) -> bool:
        row = self.rows.get(call_id)
        if row is None or row.state == "done":
            return False
        row.state, row.worker = "done", None
        row.outcomes.append((attempt, outcome))
        return True

    async def requeue(
        self, call_id: str, outcome: CallOutcome, *, attempt: int, not_before: float
    ) -> bool:
        row = self.rows.get(call_id)
        if row is None or row.state != "dialing" or row.attempt != attempt:
            return False
        row.state, row.worker = "queued", None
        row.outcomes.append((attempt, outcome))
        return True
