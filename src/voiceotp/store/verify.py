"""Codes made up by the gateway (method=Verify) and their checks, on either SQL store.

A Verify's code row is written with its call, in the group-commit batch
(:func:`write_codes_sqlite` / :func:`write_codes_pg`), superseding the number's pending
code. A Check reads the latest row (:func:`find_code`) and then counts the attempt with
ONE conditional UPDATE (:func:`record_attempt`): ``WHERE state = 'pending'`` and the
attempt and expiry limits decide atomically, so of any number of concurrent right
answers exactly one succeeds, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from voiceotp.store.base import Store
from voiceotp.store.records import Acceptance
from voiceotp.store.rows import Row, Tx

PENDING, VERIFIED, EXHAUSTED, SUPERSEDED = "pending", "verified", "exhausted", "superseded"
EXPIRED = "expired"  # reported, never stored: a pending row past ``expires_at``

SUPERSEDE = (
    "UPDATE verifications SET state = 'superseded' "
    "WHERE account_id = $1 AND mobile = $2 AND state = 'pending'"
)
INSERT_CODE = (
    "INSERT INTO verifications (voiceid, account_id, mobile, salt, code_mac, code_enc, state, "
    "attempts, max_attempts, created_at, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8, $9)"
)
_CODE_COLUMNS = "id, voiceid, salt, code_mac, state, attempts, max_attempts, expires_at"
_LATEST = (
    f"SELECT {_CODE_COLUMNS} FROM verifications "  # noqa: S608 - constant
    "WHERE account_id = $1 AND mobile = $2 ORDER BY id DESC LIMIT 1"
)
_BY_VOICEID = (
    f"SELECT {_CODE_COLUMNS} FROM verifications "  # noqa: S608 - constant
    "WHERE account_id = $1 AND mobile = $2 AND voiceid = $3"
)
# $2 = 1 for a right code. A right code ends the row (and erases the sealed code: it was
# heard); a wrong one counts, and the last allowed wrong one exhausts the row.
_ATTEMPT = (
    "UPDATE verifications SET attempts = attempts + 1, "
    "state = CASE WHEN $2 = 1 THEN 'verified' "
    "WHEN attempts + 1 >= max_attempts THEN 'exhausted' ELSE 'pending' END, "
    "verified_at = CASE WHEN $2 = 1 THEN $3 ELSE verified_at END, "
    "code_enc = CASE WHEN $2 = 1 THEN NULL ELSE code_enc END "
    "WHERE id = $1 AND state = 'pending' AND expires_at > $3 AND attempts < max_attempts "
    "RETURNING state"
)
ERASE_SEALED = (
    "UPDATE verifications SET code_enc = NULL WHERE voiceid = $1 AND code_enc IS NOT NULL"
)
SEALED_CODE = "SELECT code_enc FROM verifications WHERE voiceid = $1"


class CheckVerdict(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"  # attempts used up before this one
    NO_PENDING = "no_pending"  # none sent, already verified, or superseded


@dataclass(frozen=True, slots=True)
class CodeRow:
    """What Check needs of the latest code of a number."""

    id: int
    voiceid: str
    salt: str
    code_mac: str
    state: str
    attempts: int
    max_attempts: int
    expires_at: float

    def verdict_without_attempt(self, now: float) -> CheckVerdict | None:
        """Why no attempt can be counted on this row, or None when one can."""
        if self.state in (VERIFIED, SUPERSEDED):
            return CheckVerdict.NO_PENDING
        if self.state == EXHAUSTED or self.attempts >= self.max_attempts:
            return CheckVerdict.EXHAUSTED
        if self.expires_at <= now:
            return CheckVerdict.EXPIRED
        return None


@dataclass(frozen=True, slots=True)
class CodeStatus:
    """A call's code as Query and the status push report it."""

    status: str  # pending | verified | exhausted | superseded | expired
    verified_at: float


async def find_code(
    store: Store, account_id: int, mobile: str, voiceid: int | None
) -> CodeRow | None:
    """The number's latest code (or the one of ``voiceid``) of this account."""
    if voiceid is None:
        rows = await store.read(_LATEST, account_id, mobile)
    else:
        rows = await store.read(_BY_VOICEID, account_id, mobile, voiceid)
    return _code_from_row(rows[0]) if rows else None


Attempt = tuple[int, int, float, "asyncio.Future[str | None]"]  # row id, right?, now, answer


class AttemptCounter:
    """Counts Check attempts in batches: one transaction (and, on SQLite, one WAL flush)
    for every attempt queued meanwhile — the group commit Submit's acceptances have.

    Each attempt is still its own conditional UPDATE, in arrival order, so two attempts
    on one code in one batch see each other. No task outlives the last batch.
    """

    def __init__(self, store: Store, *, batch_max: int = 512) -> None:
        self._store, self._batch_max = store, batch_max
        self._queue: list[Attempt] = []
        self._flusher: asyncio.Task[None] | None = None

    async def count(self, row: CodeRow, *, correct: bool, now: float) -> CheckVerdict:
        """Count one attempt on ``row``; the verdict (a lost race reads the row again)."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()
        self._queue.append((row.id, 1 if correct else 0, now, answer))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="check-attempts")
        state = await answer
        if state is not None:
            return CheckVerdict.VERIFIED if state == VERIFIED else CheckVerdict.WRONG
        return await _verdict_after_race(self._store, row, now)

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the attempts of this loop pass queue up first
        while self._queue:
            batch = self._queue[: self._batch_max]
            del self._queue[: len(batch)]

            async def work(tx: Tx, batch: list[Attempt] = batch) -> list[str | None]:
                rows = [await tx.fetchrow(_ATTEMPT, i, right, now) for i, right, now, _ in batch]
                return [None if r is None else str(r[0]) for r in rows]

            try:
                states = await self._store._transact(work)
            except Exception as exc:  # rolled back: no attempt of the batch was counted
                for *_, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                continue
            for (*_, answer), state in zip(batch, states, strict=True):
                if not answer.done():
                    answer.set_result(state)


async def _verdict_after_race(store: Store, row: CodeRow, now: float) -> CheckVerdict:
    sql = f"SELECT {_CODE_COLUMNS} FROM verifications WHERE id = $1"  # noqa: S608 - constant
    rows = await store.read(sql, row.id)
    fresh = _code_from_row(rows[0]) if rows else None
    verdict = fresh.verdict_without_attempt(now) if fresh is not None else None
    return verdict or CheckVerdict.NO_PENDING


_STATUS = "SELECT state, expires_at, verified_at FROM verifications WHERE voiceid = $1"


async def code_status(store: Store, voiceid: str, now: float) -> CodeStatus | None:
    """The code of a Verify call, or None for a Submit's call."""
    if not (voiceid.isascii() and voiceid.isdigit()) or len(voiceid) > 18:
        return None
    rows = await store.read(_STATUS, int(voiceid))
    return _status(rows[0], now) if rows else None


async def code_status_in(tx: Tx, voiceid: int, now: float, *, lock: str = "") -> CodeStatus | None:
    """:func:`code_status` inside a transaction (``lock``: e.g. `` FOR UPDATE``)."""
    row = await tx.fetchrow(_STATUS + lock, voiceid)
    return None if row is None else _status(row, now)


def _status(row: Row, now: float) -> CodeStatus:
    state, expires_at, verified_at = str(row[0]), float(row[1]), row[2]
    if state == PENDING and expires_at <= now:
        state = EXPIRED
    return CodeStatus(state, float(verified_at or 0.0))


async def set_fraud_override(
    store: Store,
    account_id: int,
    *,
    min_conversion: float | None = None,
    min_codes: int | None = None,
    allow_prefixes: Sequence[str] = (),
) -> None:
    """The account's fraud-guard thresholds (None: the server's) and allowed prefixes."""

    async def work(tx: Tx) -> None:
        await tx.execute("DELETE FROM fraud_overrides WHERE account_id = $1", account_id)
        await tx.execute(
            "INSERT INTO fraud_overrides (account_id, min_conversion, min_codes, allow_prefixes) "
            "VALUES ($1, $2, $3, $4)",
            account_id,
            min_conversion,
            min_codes,
            ",".join(allow_prefixes),
        )

    await store._transact(work)


def _code_from_row(r: Row) -> CodeRow:
    return CodeRow(
        int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]), int(r[6]), float(r[7])
    )


def code_args(voiceid: int, item: Acceptance) -> tuple[Any, ...]:
    """INSERT_CODE's parameters for an acceptance carrying a code."""
    seal = item.verify
    assert seal is not None
    return (
        voiceid,
        item.account_id,
        item.mobile,
        seal.salt,
        seal.code_mac,
        seal.code_enc,
        seal.max_attempts,
        item.now,
        seal.expires_at,
    )


def write_codes_sqlite(
    conn: sqlite3.Connection, new_calls: Sequence[tuple[int, Acceptance]], to_sqlite: Any
) -> None:
    """Inside a batch's transaction: each Verify's code row, in order (the last one of a
    number wins)."""
    for voiceid, item in new_calls:
        if item.verify is not None:
            conn.execute(to_sqlite(SUPERSEDE), (item.account_id, item.mobile))
            conn.execute(to_sqlite(INSERT_CODE), code_args(voiceid, item))


async def write_codes_pg(conn: Any, new_calls: Sequence[tuple[int, Acceptance]]) -> None:
    """:func:`write_codes_sqlite` on an asyncpg connection."""
    for voiceid, item in new_calls:
        if item.verify is not None:
            await conn.execute(SUPERSEDE, item.account_id, item.mobile)
            await conn.execute(INSERT_CODE, *code_args(voiceid, item))
