"""The SQL outbox: status reports waiting to be pushed, in the gateway's own store.

:class:`SqlOutbox` implements :class:`~voiceotp.delivery.notify.outbox.Outbox` over the
``outbox`` table (migration 0002). Rows are written by :class:`~voiceotp.delivery.fence.
SqlFence` in the transaction that finishes the call (:func:`insert_outbox_in`), so a
finished call and its report commit together. ``due`` leases what it returns (``next_at``
moves ``lease_s`` ahead) so two notifier processes never push one report at once; on
PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED``. Every push tried is a row
of ``push_attempts`` (migration 0008), read back by the console (``store.console``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from voiceotp.delivery.notify.outbox import ERROR_LIMIT, OutboxItem, PushAttempt
from voiceotp.delivery.notify.report import StatusReport
from voiceotp.store import console
from voiceotp.store.base import Store
from voiceotp.store.rows import Row, Tx

__all__ = ["SqlOutbox", "insert_outbox_in"]

_COLUMNS = "report_id, account, callback_url, report, attempts, next_at, created_at"
_ANY_DUE = "SELECT 1 FROM outbox WHERE state = 'pending' AND next_at <= $1 LIMIT 1"


async def insert_outbox_in(tx: Tx, item: OutboxItem) -> None:
    """Queue ``item`` inside ``tx``; a report id already there is left alone."""
    await tx.execute(
        f"INSERT INTO outbox ({_COLUMNS}, state, note) "  # noqa: S608 - constant columns
        "VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', '') ON CONFLICT DO NOTHING",
        item.report_id,
        item.account,
        item.callback_url,
        json.dumps(asdict(item.report), separators=(",", ":")),
        item.attempts,
        item.next_at,
        item.created_at,
    )


def _item(row: Row) -> OutboxItem:
    """A row of ``_COLUMNS``."""
    _, account, callback_url, report, attempts, next_at, created_at = row
    return OutboxItem(
        report=StatusReport(**json.loads(report)),
        account=str(account),
        callback_url=str(callback_url),
        created_at=float(created_at),
        attempts=int(attempts),
        next_at=float(next_at),
    )


class SqlOutbox:
    """The :class:`~voiceotp.delivery.notify.outbox.Outbox` of a SQL store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pick = (
            f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND next_at <= $1 "  # noqa: S608
            "ORDER BY next_at, created_at LIMIT $2" + store.row_lock("FOR UPDATE SKIP LOCKED")
        )

    async def add(self, item: OutboxItem) -> None:
        await self.store.transact(lambda tx: insert_outbox_in(tx, item))

    async def due(self, now: float, limit: int, *, lease_s: float = 60.0) -> list[OutboxItem]:
        # A read first: the notifier polls every second, and an empty write transaction
        # would still take the write lock (and an fsync on SQLite) from the Submit path.
        if not await self.store.read(_ANY_DUE, now):
            return []

        async def work(tx: Tx) -> list[OutboxItem]:
            items = [_item(row) for row in await tx.fetch(self._pick, now, limit)]
            for item in items:
                await tx.execute(
                    "UPDATE outbox SET next_at = $2 WHERE report_id = $1",
                    item.report_id,
                    now + lease_s,
                )
            return items

        return await self.store.transact(work)

    async def mark_delivered(self, report_ids: Sequence[str], now: float) -> None:
        async def work(tx: Tx) -> None:
            for report_id in report_ids:
                await tx.execute(
                    "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, note = $2 "
                    "WHERE report_id = $1",
                    report_id,
                    f"at {now:.0f}",
                )

        await self.store.transact(work)

    async def mark_retry(self, report_id: str, next_at: float, error: str) -> None:
        await self._update(
            "UPDATE outbox SET attempts = attempts + 1, next_at = $2, note = $3 "
            "WHERE report_id = $1",
            report_id,
            next_at,
            error[:500],
        )

    async def give_up(self, report_id: str, reason: str) -> None:
        await self._update(
            "UPDATE outbox SET state = 'abandoned', note = $2 WHERE report_id = $1",
            report_id,
            reason[:500],
        )

    async def record_push_attempts(self, attempts: Sequence[PushAttempt]) -> None:
        async def work(tx: Tx) -> None:
            for attempt in attempts:
                await tx.execute(
                    "INSERT INTO push_attempts (report_id, voiceid, attempt, at, http_status, "
                    "error, duration) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    attempt.report_id,
                    int(attempt.voiceid),
                    attempt.attempt,
                    attempt.at,
                    attempt.http_status,
                    attempt.error[:ERROR_LIMIT],
                    attempt.duration_s,
                )

        await self.store.transact(work)

    async def push_attempts(self, voiceid: str) -> list[PushAttempt]:
        if not (voiceid.isascii() and voiceid.isdigit()):
            return []
        return await console.push_attempts(self.store, voiceid=int(voiceid))

    async def state(self, report_id: str) -> str | None:
        """pending, delivered or abandoned (None: no such report)."""
        rows = await self.store.read("SELECT state FROM outbox WHERE report_id = $1", report_id)
        return str(rows[0][0]) if rows else None

    async def get(self, report_id: str) -> OutboxItem | None:
        """The stored item (attempts and next_at as they are now)."""
        sql = f"SELECT {_COLUMNS} FROM outbox WHERE report_id = $1"  # noqa: S608 - constant
        rows = await self.store.read(sql, report_id)
        return _item(rows[0]) if rows else None

    async def _update(self, sql: str, *args: object) -> None:
        async def work(tx: Tx) -> None:
            await tx.execute(sql, *args)

        await self.store.transact(work)
