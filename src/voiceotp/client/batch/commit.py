"""Group commit: many workers' journal writes share one SQLite transaction.

A worker calls :meth:`GroupCommitter.mark` before its request leaves and waits until the
mark is durable; :meth:`GroupCommitter.record` queues an outcome without waiting (the
worker's next mark waits for it, since one transaction stores outcomes before marks). A
single task applies everything queued during one turn of the event loop in one commit.

The commit runs on the event loop's thread, blocking it for the commit (well under a
millisecond plus one fsync here). A journal thread was measured slower: CPython's sqlite3
takes the GIL back for every row of an ``executemany``, and each time it waits for the
busy event loop to yield it (up to the 5 ms switch interval).
"""

from __future__ import annotations

import asyncio

from voiceotp.client.batch.journal import Journal, JournalError, Mark, Outcome


class GroupCommitter:
    """Batches :class:`Mark` and :class:`Outcome` writes into shared commits."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._marks: list[Mark] = []
        self._outcomes: list[Outcome] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None
        self.commits = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="journal-commit")

    async def mark(self, mark: Mark) -> None:
        """Store ``mark``; returns once it (and every outcome queued before it) is durable.

        Raises JournalError when the journal cannot be written: the request must not leave.
        """
        self._check()
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
        """Write everything queued, then stop; JournalError if a write failed."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._check()

    def _check(self) -> None:
        if self.failure is not None:
            raise JournalError(f"the journal cannot be written: {self.failure}") from self.failure

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            # One more turn of the loop lets answers that are already in lift their
            # workers' next marks into this commit: fewer fsyncs, ~no added latency.
            await asyncio.sleep(0)
            self._wake.clear()
            marks, outcomes, waiters = self._marks, self._outcomes, self._waiters
            self._marks, self._outcomes, self._waiters = [], [], []
            if marks or outcomes:
                try:
                    self._journal.apply(marks, outcomes)
                except Exception as exc:
                    self.failure = exc
                    self._fail(waiters)
                    return
                self.commits += 1
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
            if self._closing and not (self._marks or self._outcomes):
                return

    def _fail(self, waiters: list[asyncio.Future[None]]) -> None:
        for waiter in waiters:
            if not waiter.done():
                try:
                    self._check()
                except JournalError as exc:
                    waiter.set_exception(exc)
