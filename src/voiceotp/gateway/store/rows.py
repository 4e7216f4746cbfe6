"""SQL shared by both stores (``$1`` placeholders) and rows -> records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from voiceotp.gateway.store.records import (
    BALANCE_LIMIT,
    MAX_BALANCE,
    AccountRecord,
    CallRecord,
    StoreError,
)

Row = Sequence[Any]

ACCOUNT_COLUMNS = (
    "id, name, apikey_enc, balance, state, require_dynamic, allow_ips, rate_per_s, "
    "cap_minute, cap_hour, cap_day, callback_url, version, refund_unconnected, "
    "abuse_distinct_numbers, abuse_prefix_burst"
)
CALL_COLUMNS = (
    "voiceid, account_id, mobile, content, state, created_at, deadline, attempts, sip_code, "
    "answer_time, end_time, duration, claimed_by, lease_until"
)


BUMP_POLICY = "UPDATE counters SET value = value + 1 WHERE name = 'policy_version'"


class Tx(Protocol):
    """One open write transaction (both stores provide it)."""

    async def execute(self, sql: str, *args: Any) -> None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...


async def adjust_in(
    tx: Tx,
    account_id: int,
    delta: int,
    reason: str,
    now: float,
    voiceid: int | None = None,
    *,
    ceiling: int = BALANCE_LIMIT,
) -> int:
    """The balance change and its ledger row, inside ``tx``; the new balance.

    Refused (StoreError, nothing written) when ``|delta|`` exceeds MAX_BALANCE (checked
    here, so no driver meets an int64 overflow) or the balance would leave 0..ceiling.
    """
    if not -MAX_BALANCE <= delta <= MAX_BALANCE:
        raise StoreError(f"a balance change is at most {MAX_BALANCE} units")
    row = await tx.fetchrow(
        "UPDATE accounts SET balance = balance + $2 "
        "WHERE id = $1 AND balance + $2 >= 0 AND balance + $2 <= $3 RETURNING balance",
        account_id,
        delta,
        ceiling,
    )
    if row is None:
        raise StoreError(f"unknown account, or the balance would go below zero or above {ceiling}")
    await tx.execute(
        "INSERT INTO ledger (account_id, delta, reason, voiceid, created_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        account_id,
        delta,
        reason,
        voiceid,
        now,
    )
    return int(row[0])


def account_from_row(row: Row, blacklist: frozenset[str]) -> AccountRecord:
    allow = tuple(p for p in str(row[6]).split(",") if p)
    return AccountRecord(
        id=int(row[0]),
        name=str(row[1]),
        apikey_enc=str(row[2]),
        balance=int(row[3]),
        state=str(row[4]),
        require_dynamic=bool(row[5]),
        allow_ips=allow,
        rate_per_s=row[7],
        cap_minute=row[8],
        cap_hour=row[9],
        cap_day=row[10],
        callback_url=str(row[11]),
        version=int(row[12]),
        refund_unconnected=None if row[13] is None else bool(row[13]),
        abuse_distinct_numbers=row[14],
        abuse_prefix_burst=row[15],
        blacklist=blacklist,
    )


def call_from_row(row: Row) -> CallRecord:
    return CallRecord(
        voiceid=str(row[0]),
        account_id=int(row[1]),
        mobile=str(row[2]),
        content=str(row[3]),
        state=str(row[4]),
        created_at=float(row[5]),
        deadline=float(row[6]),
        attempts=int(row[7]),
        sip_code=int(row[8]),
        answer_time=float(row[9]),
        end_time=float(row[10]),
        duration=int(row[11]),
        claimed_by=row[12],
        lease_until=row[13],
    )
