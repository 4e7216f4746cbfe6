"""Group commit: many workers' journal writes share one SQLite transaction.

A worker calls :meth:`GroupCommitter.mark` before its request leaves and waits until the
mark is durable; :meth:`GroupCommitter.record` queues an outcome without waiting (the
worker's next mark waits for it, since one transaction stores outcomes before marks). A
single task applies everything that queued up while the previous commit ran, on one
journal thread, so the event loop keeps serving HTTP while SQLite syncs.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

from voiceotp.client.batch.journal import Journal, Mark, Outcome


class GroupCommitter:
    """Batches :class:`Mark` and :class:`Outcome` writes into shared commits."""

    def __init__(self, journal: Journal, executor: Executor) -> None:
        self._journal = journal
        self._executor = executor
        self._marks: list[Mark] = []
        self._outcomes: list[Outcome] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.commits = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="journal-commit")

    async def mark(self, mark: Mark) -> None:
        """Store ``mark``; returns once it (and every outcome queued before it) is durable."""
        waiter = asyncio.get_running_loop().create_future()
        self._marks.append(mark)
        self._waiters.append(waiter)
        self._wake.set()
        await waiter

    def record(self, outcome: Outcome) -> None:
        """Queue ``outcome`` for the next commit."""
        self._outcomes.append(outcome)
        self._wake.set()

    async def close(self) -> None:
        """Write everything queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            marks, outcomes, waiters = self._marks, self._outcomes, self._waiters
            self._marks, self._outcomes, self._waiters = [], [], []
            if marks or outcomes:
                try:
                    await loop.run_in_executor(self._executor, self._journal.apply, marks, outcomes)
                except BaseException as exc:
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    raise
                self.commits += 1
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
            if self._closing and not (self._marks or self._outcomes):
                return
