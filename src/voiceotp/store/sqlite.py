"""The SQLite store: stdlib sqlite3 on the event loop, WAL, group commit.

Reads use their own connection (WAL readers never wait for the writer). Every write
goes through one connection guarded by an asyncio lock; Submit acceptances are batched
by :class:`GroupCommitWriter`. A batch's statements and COMMIT run on the loop
(microseconds: page cache and WAL append). With ``synchronous=FULL`` (the default) the
batch is answered only after :class:`WalFlusher` fsynced the WAL in a thread — outside
the write lock, so the next batch proceeds meanwhile (see walsync.py): power-loss
durable. With ``synchronous=NORMAL`` there is no fsync per batch: durable if the process
dies, not if the machine loses power before the next checkpoint.

Measured on the way here: running whole batches in a thread was slower (each sqlite3
call re-acquired the GIL behind the busy loop), and so was COMMIT-with-fsync in a thread
(the write lock was held through the fsync).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from voiceotp.store.apilock import ProcessLock, flock_api
from voiceotp.store.base import Store, T
from voiceotp.store.batch import Committed, GroupCommitWriter, plan_batch
from voiceotp.store.records import Acceptance, AcceptOutcome, KeyUse
from voiceotp.store.rows import Row
from voiceotp.store.verify import write_codes_sqlite
from voiceotp.store.voiceids import IdPool, VoiceIdMint
from voiceotp.store.walsync import WalFlusher

log = logging.getLogger(__name__)
CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
CHECKPOINT_S = 1.0
_PLACEHOLDER = re.compile(r"\$(\d+)")
INSERT_CALLS = (
    "INSERT INTO calls (voiceid, account_id, mobile, content, state, idem_key, created_at, "
    "deadline, attempts, sip_code, answer_time, end_time, duration) VALUES "
)
CALL_VALUES = "(?, ?, ?, ?, 'queued', ?, ?, ?, 0, 0, 0, 0, 0)"
INSERT_HOLDS = "INSERT INTO ledger (account_id, delta, reason, voiceid, created_at) VALUES "
HOLD_VALUES = "(?, -1, 'hold', ?, ?)"


@lru_cache(maxsize=256)
def to_sqlite(sql: str) -> str:
    """``$1`` placeholders -> ``?1`` (SQLite's numbered form)."""
    return _PLACEHOLDER.sub(r"?\1", sql)


class _SQLiteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        self._conn.execute(to_sqlite(sql), args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(self._conn.execute(to_sqlite(sql), args).fetchall())

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = self._conn.execute(to_sqlite(sql), args).fetchall()
        return rows[0] if rows else None


class SQLiteStore(Store):
    """Store on one SQLite file (the embedded default)."""

    def __init__(
        self, path: Path, *, id_key: bytes, batch_max: int = 512, synchronous: str = "FULL"
    ) -> None:
        self.path = path
        self._synchronous = synchronous
        self._flusher: WalFlusher | None = None
        self._ids = IdPool(VoiceIdMint(id_key))
        self._writer = GroupCommitWriter(
            self._commit_batch, batch_max=batch_max, observe=self._observe_batch
        )
        self._lock = asyncio.Lock()
        self._thread: ThreadPoolExecutor | None = None
        self._rconn: sqlite3.Connection | None = None
        self._ckconn: sqlite3.Connection | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._wconn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-fsync")
        self._wconn = self._connect(check_same_thread=False)
        if self._synchronous.upper() != "NORMAL":  # we flush the WAL ourselves: walsync.py
            self._wconn.execute("PRAGMA synchronous=NORMAL")
            self._flusher = WalFlusher(self.path, self._thread)
        # Checkpoints move WAL pages into the database file (with an fsync of their own);
        # inside a COMMIT they stall a whole batch, so a background task does them.
        self._wconn.execute("PRAGMA wal_autocheckpoint=0")
        self._rconn = self._connect(check_same_thread=True)
        self._ckconn = self._connect(check_same_thread=False)
        self._writer.start()
        self._checkpointer = asyncio.get_running_loop().create_task(
            self._checkpoint_forever(), name="sqlite-checkpoint"
        )

    async def _checkpoint_forever(self) -> None:
        """PASSIVE checkpoints (they never block the writer) every ``CHECKPOINT_S``."""
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint") as thread:
            while True:
                await asyncio.sleep(CHECKPOINT_S)
                conn = self._ckconn
                if conn is None:
                    return
                try:
                    await loop.run_in_executor(thread, conn.execute, CHECKPOINT)
                except sqlite3.Error:
                    log.exception("WAL checkpoint failed (will retry)")

    def _connect(self, *, check_same_thread: bool) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=check_same_thread, timeout=10
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten content is zeroed, not left in free space (erased codes:
        # docs/privacy.md); the WAL keeps old page images until scrub_journal().
        conn.execute("PRAGMA secure_delete=ON")
        return conn

    async def close(self) -> None:
        await self._writer.stop()
        if self._flusher is not None:
            self._flusher.close()
            self._flusher = None
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        if self._wconn is not None:
            self._wconn.execute(CHECKPOINT)  # leave a short WAL behind
        for conn in (self._rconn, self._wconn, self._ckconn):
            if conn is not None:
                conn.close()
        self._rconn = self._wconn = self._ckconn = None

    async def scrub_journal(self) -> bool:
        """Checkpoint everything and truncate the WAL to zero bytes, so the page images it
        held (with codes since erased) are gone. Under the write lock, in a thread: Submit
        batches wait for it (milliseconds), the event loop does not."""
        conn = self._wconn
        assert conn is not None, "store not open"
        assert self._thread is not None
        loop = asyncio.get_running_loop()
        async with self._lock:
            job = loop.run_in_executor(self._thread, _truncate_wal, conn)
            try:
                busy, _, _ = await asyncio.shield(job)
            except asyncio.CancelledError:  # keep the lock until the thread let go of conn
                with contextlib.suppress(sqlite3.Error):
                    await job
                raise
        if busy:
            log.warning("WAL not truncated: a reader held an old snapshot (will retry)")
        return not busy

    async def api_process_lock(self, *, shared: bool) -> ProcessLock:
        return flock_api(self.path, shared=shared)

    async def read(self, sql: str, *args: Any) -> list[Row]:
        assert self._rconn is not None, "store not open"
        return list(self._rconn.execute(to_sqlite(sql), args).fetchall())

    async def transact(self, work: Callable[[Any], Awaitable[T]]) -> T:
        conn = self._wconn
        assert conn is not None, "store not open"
        async with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = await work(_SQLiteTx(conn))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            commit = self._flusher.committed() if self._flusher else 0
        if self._flusher is not None:
            await self._flusher.wait_durable(commit)
        return result

    async def accept(self, item: Acceptance) -> AcceptOutcome:
        return await self._writer.submit(item)

    async def _commit_batch(self, items: list[Acceptance]) -> Committed:
        conn = self._wconn
        assert conn is not None
        async with self._lock:
            self._reserve_ids(conn, len(items))
            conn.execute("BEGIN IMMEDIATE")
            try:
                outcomes = self._apply(conn, items)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed COMMIT (disk full) may leave it open
                    conn.execute("ROLLBACK")
                raise
        if self._flusher is None:  # synchronous=NORMAL: durable as SQLite makes it
            return outcomes, None
        return outcomes, self._flusher.wait_durable(self._flusher.committed())

    def _apply(self, conn: sqlite3.Connection, items: Sequence[Acceptance]) -> list[AcceptOutcome]:
        account_ids = sorted({i.account_id for i in items})
        marks = ",".join("?" * len(account_ids))
        balances = dict(
            conn.execute(f"SELECT id, balance FROM accounts WHERE id IN ({marks})", account_ids)  # noqa: S608
        )
        existing = {}
        for item in items:
            if item.idem_key:
                row = conn.execute(
                    "SELECT voiceid, mobile, content FROM calls "
                    "WHERE account_id = ? AND idem_key = ?",
                    (item.account_id, item.idem_key),
                ).fetchone()
                if row:
                    existing[(item.account_id, item.idem_key)] = KeyUse(
                        str(row[0]), str(row[1]), str(row[2])
                    )
        plan = plan_batch(items, balances, existing, iter(self._ids.take, None))
        for account_id, units in plan.debits.items():
            conn.execute(
                "UPDATE accounts SET balance = balance - ? WHERE id = ?", (units, account_id)
            )
        if plan.new_calls:  # one multi-row INSERT each: one statement step, not one per row
            rows = len(plan.new_calls)
            call_args = [
                arg
                for vid, i in plan.new_calls
                for arg in (vid, i.account_id, i.mobile, i.content, i.idem_key, i.now, i.deadline)
            ]
            conn.execute(INSERT_CALLS + ",".join([CALL_VALUES] * rows), call_args)
            hold_args = [arg for vid, i in plan.new_calls for arg in (i.account_id, vid, i.now)]
            conn.execute(INSERT_HOLDS + ",".join([HOLD_VALUES] * rows), hold_args)
            write_codes_sqlite(conn, plan.new_calls, to_sqlite)
        return plan.outcomes

    def _reserve_ids(self, conn: sqlite3.Connection, n: int) -> None:
        size = self._ids.shortfall(n)
        if size:
            conn.execute("BEGIN IMMEDIATE")
            (last,) = conn.execute(
                "UPDATE counters SET value = value + ? WHERE name = 'voiceid_seq' RETURNING value",
                (size,),
            ).fetchone()
            conn.execute("COMMIT")
            self._ids.add_block(int(last), size)


def _truncate_wal(conn: sqlite3.Connection) -> tuple[int, int, int]:
    row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])
