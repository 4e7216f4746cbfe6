"""Group commit: one writer per process commits many acceptances per transaction.

Requests queue their :class:`Acceptance` and await a future; the writer task takes
everything queued, commits it in one transaction and resolves each future only once the
batch is durable — after COMMIT returned, or, when the store flushes separately, after
that flush — so code 2 is answered only for durable rows. If the transaction fails,
every request of the batch gets the exception (nothing of it was written).

:func:`plan_batch` is the pure decision of what a batch does, shared by both stores:
given the balances (read under the write lock) and the idempotency keys already
stored, which requests are replays, which get a unit, and which are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from voiceotp.store.records import Acceptance, AcceptOutcome, AcceptStatus, KeyUse

log = logging.getLogger(__name__)
KEY_REUSED = AcceptOutcome(AcceptStatus.KEY_REUSED)


@dataclass
class BatchPlan:
    outcomes: list[AcceptOutcome]
    new_calls: list[tuple[int, Acceptance]] = field(default_factory=list)  # (voiceid, item)
    debits: dict[int, int] = field(default_factory=dict)  # account_id -> units held


def plan_batch(
    items: Sequence[Acceptance],
    balances: Mapping[int, int],
    existing: Mapping[tuple[int, str], KeyUse],
    voiceids: Iterator[int],
) -> BatchPlan:
    """Decide each item in order: replay of a stored or earlier key (refused if that key
    was used for another mobile or content), held unit, or refusal for the balance."""
    plan = BatchPlan(outcomes=[])
    remaining = dict(balances)
    seen = dict(existing)
    for item in items:
        key = (item.account_id, item.idem_key) if item.idem_key else None
        first = seen.get(key) if key is not None else None
        if first is not None:
            fits = first.fits(item.mobile, item.content, item.fingerprint)
            outcome = AcceptOutcome(AcceptStatus.REPLAY, first.voiceid) if fits else KEY_REUSED
            plan.outcomes.append(outcome)
            continue
        if remaining.get(item.account_id, 0) <= 0:
            plan.outcomes.append(AcceptOutcome(AcceptStatus.NO_BALANCE))
            continue
        remaining[item.account_id] -= 1
        voiceid = next(voiceids)
        if key is not None:
            seen[key] = KeyUse(str(voiceid), item.mobile, item.content)
        plan.debits[item.account_id] = plan.debits.get(item.account_id, 0) + 1
        plan.new_calls.append((voiceid, item))
        plan.outcomes.append(AcceptOutcome(AcceptStatus.ACCEPTED, str(voiceid)))
    return plan


# A commit returns the outcomes once COMMIT returned, and — when the commit itself did not
# wait for the disk — an awaitable that completes once the batch is on stable storage.
Committed = tuple[list[AcceptOutcome], Awaitable[None] | None]
CommitFn = Callable[[list[Acceptance]], Awaitable[Committed]]


class GroupCommitWriter:
    """Collects acceptances and commits them in batches through ``commit``."""

    def __init__(
        self,
        commit: CommitFn,
        *,
        batch_max: int = 512,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self._commit = commit
        self._observe = observe
        self._batch_max = batch_max
        self._queue: asyncio.Queue[tuple[Acceptance, asyncio.Future[AcceptOutcome]]] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None
        self._syncing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        if self._task is None:
            return
        while not self._queue.empty():
            await asyncio.sleep(0)
            await self._drain_once()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._syncing:
            await asyncio.gather(*self._syncing)

    async def submit(self, item: Acceptance) -> AcceptOutcome:
        """Queue ``item``; return once its batch is committed (or raise if it failed)."""
        if self._task is None:
            raise RuntimeError("the store is not open")
        future: asyncio.Future[AcceptOutcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            # The first acceptance woke us; requests already read from sockets are still
            # to run in this loop pass. Letting them queue first turns a burst into one
            # commit (and one WAL flush) instead of a commit of one plus the rest.
            await asyncio.sleep(0)
            await self._commit_batch([first, *self._take_queued()])

    async def _drain_once(self) -> None:
        batch = self._take_queued()
        if batch:
            await self._commit_batch(batch)

    def _take_queued(self) -> list[tuple[Acceptance, asyncio.Future[AcceptOutcome]]]:
        batch: list[tuple[Acceptance, asyncio.Future[AcceptOutcome]]] = []
        while len(batch) < self._batch_max - 1 and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    async def _commit_batch(
        self, batch: list[tuple[Acceptance, asyncio.Future[AcceptOutcome]]]
    ) -> None:
        if self._observe is not None:
            self._observe(len(batch))
        try:
            outcomes, durable = await self._commit([item for item, _ in batch])
        except Exception as exc:  # the transaction rolled back: nobody was accepted
            log.exception("group commit of %d acceptances failed", len(batch))
            _fail(batch, exc)
            return
        if durable is None:
            _resolve(batch, outcomes)
            return
        # The next batch may run its statements while this one's flush is in flight.
        task = asyncio.get_running_loop().create_task(self._when_durable(batch, outcomes, durable))
        self._syncing.add(task)
        task.add_done_callback(self._syncing.discard)

    @staticmethod
    async def _when_durable(
        batch: list[tuple[Acceptance, asyncio.Future[AcceptOutcome]]],
        outcomes: list[AcceptOutcome],
        durable: Awaitable[None],
    ) -> None:
        try:
            await durable
        except Exception as exc:  # committed but maybe not on disk: never claim success
            log.exception("flushing %d acceptances to disk failed", len(batch))
            _fail(batch, exc)
            return
        _resolve(batch, outcomes)


def _resolve(
    batch: list[tuple[Acceptance, asyncio.Future[AcceptOutcome]]], outcomes: list[AcceptOutcome]
) -> None:
    for (_, future), outcome in zip(batch, outcomes, strict=True):
        if not future.done():
            future.set_result(outcome)


def _fail(batch: list[tuple[Acceptance, asyncio.Future[AcceptOutcome]]], exc: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
