"""Codes made up by the gateway (method=Verify) and their checks, on either SQL store.

A Verify's code row is written with its call, in the group-commit batch
(:func:`write_codes_sqlite` / :func:`write_codes_pg`), superseding the number's pending
code. Checks are answered in batches by :mod:`voiceotp.store.checks` with the SQL here:
the latest row of the number, then ONE conditional UPDATE per attempt (``WHERE state =
'pending'`` and the attempt and expiry limits decide atomically), so of any number of
concurrent right answers exactly one succeeds, on SQLite and PostgreSQL alike. Query,
the status push and the fraud guard read the rows; the fence opens and erases the sealed
copy.
"""

from __future__ import annotations

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
_CODE_INSERT = (
    "INSERT INTO verifications (voiceid, account_id, mobile, salt, code_mac, code_enc, state, "
    "max_attempts, created_at, expires_at, attempts) "
)
INSERT_CODE = _CODE_INSERT + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)"
INSERT_CODES = (
    _CODE_INSERT  # noqa: S608 - constant
    + "SELECT v, a, m, s, h, e, st, x, c, t, 0 FROM unnest($1::bigint[], "
    "$2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], "
    "$9::float8[], $10::float8[]) AS u(v, a, m, s, h, e, st, x, c, t)"
)
CODE_COLUMNS = "id, voiceid, salt, code_mac, state, attempts, max_attempts, expires_at"
LATEST = (
    f"SELECT {CODE_COLUMNS} FROM verifications "  # noqa: S608 - constant
    "WHERE account_id = $1 AND mobile = $2 ORDER BY id DESC LIMIT 1"
)
BY_VOICEID = (
    f"SELECT {CODE_COLUMNS} FROM verifications "  # noqa: S608 - constant
    "WHERE account_id = $1 AND mobile = $2 AND voiceid = $3"
)
# Wrong attempts on the number's codes made since $3 (a right attempt ends its code).
WRONG_COUNT = (
    "SELECT COALESCE(SUM(attempts), 0) - COUNT(verified_at) FROM verifications "
    "WHERE account_id = $1 AND mobile = $2 AND created_at >= $3"
)
# $2 = 1 for a right code. A right code ends the row (and erases the sealed code: it was
# heard); a wrong one counts, and the last allowed wrong one exhausts the row.
ATTEMPT = (
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
    THROTTLED = "throttled"  # too many wrong codes for this number lately, across codes


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


async def verdict_after_race(store: Store, row: CodeRow, now: float) -> CheckVerdict:
    sql = f"SELECT {CODE_COLUMNS} FROM verifications WHERE id = $1"  # noqa: S608 - constant
    rows = await store.read(sql, row.id)
    fresh = code_from_row(rows[0]) if rows else None
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

    await store.transact(work)


async def fraud_override(store: Store, account_id: int) -> dict[str, Any]:
    """The account's fraud-guard override as :func:`set_fraud_override` takes it (None:
    the server's thresholds)."""
    rows = await store.read(
        "SELECT min_conversion, min_codes, allow_prefixes FROM fraud_overrides "
        "WHERE account_id = $1",
        account_id,
    )
    conversion, codes, allow = rows[0] if rows else (None, None, "")
    return {
        "min_conversion": None if conversion is None else float(conversion),
        "min_codes": None if codes is None else int(codes),
        "allow_prefixes": [p for p in str(allow).split(",") if p],
    }


def code_from_row(r: Row) -> CodeRow:
    return CodeRow(
        int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]), int(r[6]), float(r[7])
    )


def code_rows(new_calls: Sequence[tuple[int, Acceptance]]) -> list[tuple[Any, ...]]:
    """INSERT_CODE's parameters for the batch's Verifies; of several to one number in one
    batch, only the last is pending (the others are superseded at once)."""
    made = [(v, i, i.verify) for v, i in new_calls if i.verify is not None]
    last = {(i.account_id, i.mobile): v for v, i, _ in made}
    return [
        (
            v,
            i.account_id,
            i.mobile,
            seal.salt,
            seal.code_mac,
            seal.code_enc,
            PENDING if last[i.account_id, i.mobile] == v else SUPERSEDED,
            seal.max_attempts,
            i.now,
            seal.expires_at,
        )
        for v, i, seal in made
    ]


def write_codes_sqlite(
    conn: sqlite3.Connection, new_calls: Sequence[tuple[int, Acceptance]], to_sqlite: Any
) -> None:
    """Inside a batch's transaction: supersede the numbers' pending codes, then write the
    batch's code rows."""
    rows = code_rows(new_calls)
    if rows:
        numbers = {(r[1], r[2]) for r in rows}
        conn.executemany(to_sqlite(SUPERSEDE), sorted(numbers))
        conn.executemany(to_sqlite(INSERT_CODE), rows)


async def write_codes_pg(conn: Any, new_calls: Sequence[tuple[int, Acceptance]]) -> None:
    """:func:`write_codes_sqlite` on an asyncpg connection."""
    rows = code_rows(new_calls)
    if rows:
        # Per number (pipelined): the plain equality keeps its index scan in any plan cache.
        await conn.executemany(SUPERSEDE, sorted({(r[1], r[2]) for r in rows}))
        await conn.execute(INSERT_CODES, *([r[k] for r in rows] for k in range(10)))
