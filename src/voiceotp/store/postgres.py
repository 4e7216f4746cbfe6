"""The PostgreSQL store: asyncpg directly, one group-commit writer per process.

A batch locks the rows of the accounts it touches (``FOR UPDATE``, in id order, so
batches of several processes never deadlock), then checks idempotency keys and holds
units. Every insert of an account's call happens under that account's row lock, so the
key check cannot race another process, and the balance can never go below zero.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from voiceotp.store.apilock import ProcessLock, pg_lock_api
from voiceotp.store.base import Store, T
from voiceotp.store.batch import Committed, GroupCommitWriter, plan_batch
from voiceotp.store.pgcommit import commit_outcome
from voiceotp.store.records import CODE, NOTICE, Acceptance, AcceptOutcome, KeyUse
from voiceotp.store.rows import Row
from voiceotp.store.verify import write_codes_pg
from voiceotp.store.voiceids import IdPool, VoiceIdMint

log = logging.getLogger(__name__)
LOCK_BALANCES = "SELECT id, balance FROM accounts WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE"
EXISTING_KEYS = (
    "SELECT c.account_id, c.idem_key, c.voiceid, c.mobile, c.content || c.notice_text "
    "FROM calls c "
    "JOIN unnest($1::int[], $2::text[]) AS k(a, key) ON c.account_id = k.a AND c.idem_key = k.key"
)
# One round trip for every write of a batch: debit the accounts, insert the calls, and
# write one hold per inserted call (data-modifying CTEs run in one statement).
WRITE_BATCH = (
    "WITH debit AS (UPDATE accounts a SET balance = a.balance - d.n "
    "FROM unnest($8::int[], $9::bigint[]) AS d(id, n) WHERE a.id = d.id RETURNING a.id), "
    "c AS (INSERT INTO calls (voiceid, account_id, mobile, content, state, idem_key, "
    "created_at, deadline, attempts, sip_code, answer_time, end_time, duration, not_before, "
    "kind, notice_text, template_id) "
    "SELECT v, a, m, c, 'queued', k, t, d, 0, 0, 0, 0, 0, nb, kd, nt, tp FROM unnest("
    "$1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], "
    "$10::float8[], $11::text[], $12::text[], $13::int[]) "
    "AS u(v, a, m, c, k, t, d, nb, kd, nt, tp) "
    "RETURNING voiceid, account_id, created_at) "
    "INSERT INTO ledger (account_id, delta, reason, voiceid, created_at) "
    "SELECT account_id, -1, 'hold', voiceid, created_at FROM c"
)


class _PoolConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pooled connection given back without asyncpg's reset query.

    asyncpg resets every connection it takes back (``SELECT pg_advisory_unlock_all();
    CLOSE ALL; UNLISTEN *; RESET ALL``): one round trip per release, ~18 % of a dialer's
    socket writes (two releases per call). This store never leaves session state on a
    pooled connection: every use is one statement or a transaction asyncpg manages, with no
    ``SET`` (only ``SET LOCAL``, if any), ``LISTEN``, session advisory lock (the API lock has
    a connection of its own: apilock.py) or ``WITH HOLD`` cursor. An open transaction is
    still rolled back on release (asyncpg does that whatever this query is)."""

    def get_reset_query(self) -> str:
        return ""


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://`` or ``postgres://`` -> what asyncpg takes."""
    return "postgresql://" + url.split("://", 1)[1]


class _PgTx:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await self._conn.fetchrow(sql, *args)
        return row


class PostgresStore(Store):
    """Store on a PostgreSQL database (several gateway processes may share it)."""

    def __init__(self, url: str, *, id_key: bytes, batch_max: int = 512, pool_size: int = 8):
        self._dsn = asyncpg_dsn(url)
        self._pool_size = pool_size
        self._ids = IdPool(VoiceIdMint(id_key))
        self._writer = GroupCommitWriter(
            self._commit_batch, batch_max=batch_max, observe=self._observe_batch
        )
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=2,
            max_size=self._pool_size,
            command_timeout=30,
            connection_class=_PoolConnection,
        )
        self._writer.start()

    async def close(self) -> None:
        await self._writer.stop()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "store not open"
        return self._pool

    async def api_process_lock(self, *, shared: bool) -> ProcessLock:
        return await pg_lock_api(self._dsn, shared=shared)

    async def read(self, sql: str, *args: Any) -> list[Row]:
        return list(await self.pool.fetch(sql, *args))

    def row_lock(self, clause: str) -> str:
        return f" {clause}"

    async def transact(self, work: Callable[[Any], Awaitable[T]]) -> T:
        async with self._connection() as conn, conn.transaction():
            return await work(_PgTx(conn))

    async def write_one(self, sql: str, *args: Any) -> Row | None:
        async with self._connection() as conn:  # autocommit: one round trip
            row: Row | None = await conn.fetchrow(sql, *args)
            return row

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection whose return cannot fail the work done on it.

        Giving a connection back resets it (a query): when the connection died right after
        a COMMIT that went through (cut under load), that reset fails, and the committed
        work was reported as failed (code 0 for stored calls; found by the fault suite).
        asyncpg has dropped the connection by then; the pool opens another."""
        conn = await self.pool.acquire()
        try:
            yield conn
        finally:
            try:
                await self._give_back(conn)
            except Exception as exc:
                log.warning("a connection died as it was given back (%s); dropped", exc)

    async def _give_back(self, conn: asyncpg.Connection) -> None:
        """Return ``conn`` to the pool (a seam for fault-injection tests)."""
        await self.pool.release(conn)

    async def accept(self, item: Acceptance) -> AcceptOutcome:
        return await self._writer.submit(item)

    async def _commit_batch(self, items: list[Acceptance]) -> Committed:
        await self._reserve_ids(len(items))
        async with self._connection() as conn:
            tx = conn.transaction()
            await tx.start()
            try:
                outcomes, new_ids = await self._apply(conn, items)
            except BaseException:
                with contextlib.suppress(Exception):
                    await tx.rollback()
                raise
            pid = conn.get_server_pid()
            try:
                await self._commit(tx)
            except Exception:  # the answer to COMMIT is lost: did it commit?
                if not new_ids:
                    raise  # nothing was written that a retry could duplicate
                log.warning("COMMIT of %d calls failed; asking the store", len(new_ids))
                committed = await commit_outcome(self._dsn, pid, new_ids)
                if committed is not True:
                    if committed is None:
                        log.error("outcome of %d calls unknown: answering 0", len(new_ids))
                    raise
                log.warning("COMMIT of %d calls had succeeded: answering 2", len(new_ids))
        return outcomes, None  # PostgreSQL's COMMIT returns once the WAL is flushed

    async def _commit(self, tx: Any) -> None:
        """COMMIT (a seam for fault-injection tests)."""
        await tx.commit()

    async def _apply(
        self, conn: asyncpg.Connection, items: Sequence[Acceptance]
    ) -> tuple[list[AcceptOutcome], list[int]]:
        """The batch's outcomes and the voiceids of the calls it inserted."""
        account_ids = sorted({i.account_id for i in items})
        balances = dict(await conn.fetch(LOCK_BALANCES, account_ids))  # id -> balance
        keyed = [i for i in items if i.idem_key]
        existing = {}
        if keyed:
            rows = await conn.fetch(
                EXISTING_KEYS, [i.account_id for i in keyed], [i.idem_key for i in keyed]
            )
            existing = {
                (account_id, key): KeyUse(str(voiceid), str(mobile), str(content))
                for account_id, key, voiceid, mobile, content in rows
            }
        plan = plan_batch(items, balances, existing, iter(self._ids.take, None))
        if plan.new_calls:
            new = plan.new_calls
            await conn.execute(
                WRITE_BATCH,
                [v for v, _ in new],
                [i.account_id for _, i in new],
                [i.mobile for _, i in new],
                [i.stored_content for _, i in new],
                [i.idem_key for _, i in new],
                [float(i.now) for _, i in new],
                [float(i.deadline) for _, i in new],
                list(plan.debits),
                list(plan.debits.values()),
                [float(i.not_before) for _, i in new],
                [CODE if i.notice is None else NOTICE for _, i in new],
                ["" if i.notice is None else i.content for _, i in new],
                [None if i.notice is None else i.notice.template_id for _, i in new],
            )
            await write_codes_pg(conn, new)
        return plan.outcomes, [v for v, _ in plan.new_calls]

    async def _reserve_ids(self, n: int) -> None:
        size = self._ids.shortfall(n)
        if size:
            last = await self.pool.fetchval(
                "UPDATE counters SET value = value + $1 WHERE name = 'voiceid_seq' RETURNING value",
                size,
            )
            self._ids.add_block(int(last), size)
