"""Group commit: many workers' journal writes share one SQLite transaction.

A worker calls :meth:`GroupCommitter.mark` before its request leaves and waits until the
mark is durable; :meth:`GroupCommitter.record` queues an outcome without waiting (the
worker's next mark waits for it, since one transaction stores outcomes before marks).

Everything queued during one turn of the event loop is applied by one plain callback at
the start of the next turn, on the loop's thread (with ``synchronous=FULL`` the commit
ends in one fsync of the WAL, ~0.2 ms here). Committing at once, rather than waiting a
turn or two for bigger groups, is what keeps the workers from falling into lock-step:
measured at concurrency 50 against a 5 ms server (bench/batch.py), waiting one more turn
gained nothing and waiting two made every worker share one commit and run at 0.6 of raw.

Also measured and not kept (docs/batch.md): the SQL in a journal thread (~2x slower:
CPython's sqlite3 takes the GIL back for every row of an ``executemany`` and waits for
the busy loop to yield it each time) and the fsync alone in a thread (no better: the
handoff costs what it saves, and the marks wait for it all the same).
"""

from __future__ import annotations

import asyncio

from voiceotp.client.batch.journal import Journal, JournalError
from voiceotp.client.batch.records import Mark, Outcome


class GroupCommitter:
    """Batches :class:`Mark` and :class:`Outcome` writes into shared commits.

    Create it inside the running event loop; :meth:`close` before the loop ends.
    """

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._loop = asyncio.get_running_loop()
        self._marks: list[Mark] = []
        self._outcomes: list[Outcome] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._scheduled = False
        self.failure: BaseException | None = None
        self.commits = 0

    async def mark(self, mark: Mark) -> None:
        """Store ``mark``; returns once it (and every outcome queued before it) is durable.

        Raises JournalError when the journal cannot be written: the request must not leave.
        """
        self._check()
        waiter = self._loop.create_future()
        self._marks.append(mark)
        self._waiters.append(waiter)
        if not self._scheduled:
            self._schedule()
        await waiter

    def record(self, outcome: Outcome) -> None:
        """Queue ``outcome`` for the next commit."""
        self._outcomes.append(outcome)
        if not self._scheduled:
            self._schedule()

    async def close(self) -> None:
        """Write everything queued, then stop; JournalError if a write failed."""
        if self.failure is None and (self._marks or self._outcomes):
            self._commit()
        self._check()

    def _check(self) -> None:
        if self.failure is not None:
            raise JournalError(f"the journal cannot be written: {self.failure}") from self.failure

    def _schedule(self) -> None:
        self._scheduled = True
        self._loop.call_soon(self._commit)

    def _commit(self) -> None:
        self._scheduled = False
        marks, outcomes, waiters = self._marks, self._outcomes, self._waiters
        self._marks, self._outcomes, self._waiters = [], [], []
        if self.failure is not None:
            self._fail(waiters)
            return
        if marks or outcomes:
            try:
                self._journal.apply(marks, outcomes)
            except Exception as exc:
                self.failure = exc
                self._fail(waiters)
                return
            self.commits += 1
        _release(waiters)

    def _fail(self, waiters: list[asyncio.Future[None]]) -> None:
        for waiter in waiters:
            if not waiter.done():
                try:
                    self._check()
                except JournalError as exc:
                    waiter.set_exception(exc)


def _release(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
