"""SQL shared by both stores (``$1`` placeholders) and rows -> records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any, Protocol

from voiceotp.store.records import (
    BALANCE_LIMIT,
    MAX_BALANCE,
    AccountRecord,
    CallRecord,
    StoreError,
)

Row = Sequence[Any]

# The records' fields are the tables' column names: a record is read by name.
_ACCOUNT_FIELDS = tuple(f.name for f in fields(AccountRecord) if f.name != "blacklist")
_CALL_FIELDS = tuple(f.name for f in fields(CallRecord))
ACCOUNT_COLUMNS = ", ".join(_ACCOUNT_FIELDS)
CALL_COLUMNS = ", ".join(_CALL_FIELDS)


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
    """A row of ``ACCOUNT_COLUMNS``."""
    col = dict(zip(_ACCOUNT_FIELDS, row, strict=True))
    refund = col["refund_unconnected"]
    return AccountRecord(
        id=int(col["id"]),
        name=str(col["name"]),
        apikey_enc=str(col["apikey_enc"]),
        balance=int(col["balance"]),
        state=str(col["state"]),
        require_dynamic=bool(col["require_dynamic"]),
        allow_ips=tuple(p for p in str(col["allow_ips"]).split(",") if p),
        rate_per_s=col["rate_per_s"],
        cap_minute=col["cap_minute"],
        cap_hour=col["cap_hour"],
        cap_day=col["cap_day"],
        callback_url=str(col["callback_url"]),
        version=int(col["version"]),
        refund_unconnected=None if refund is None else bool(refund),
        abuse_distinct_numbers=col["abuse_distinct_numbers"],
        abuse_prefix_burst=col["abuse_prefix_burst"],
        keep_numbers_days=col["keep_numbers_days"],
        keep_audio_days=col["keep_audio_days"],
        trial=bool(col["trial"]),
        trial_numbers=tuple(p for p in str(col["trial_numbers"]).split(",") if p),
        old_apikey_enc=str(col["old_apikey_enc"]),
        old_apikey_until=float(col["old_apikey_until"]),
        low_balance_alert=col["low_balance_alert"],
        low_balance_alerted=bool(col["low_balance_alerted"]),
        blacklist=blacklist,
    )


def call_from_row(row: Row) -> CallRecord:
    """A row of ``CALL_COLUMNS``."""
    col = dict(zip(_CALL_FIELDS, row, strict=True))
    return CallRecord(
        voiceid=str(col["voiceid"]),
        account_id=int(col["account_id"]),
        mobile=str(col["mobile"]),
        content=str(col["content"]),
        state=str(col["state"]),
        created_at=float(col["created_at"]),
        deadline=float(col["deadline"]),
        attempts=int(col["attempts"]),
        sip_code=int(col["sip_code"]),
        answer_time=float(col["answer_time"]),
        end_time=float(col["end_time"]),
        duration=int(col["duration"]),
        claimed_by=col["claimed_by"],
        lease_until=col["lease_until"],
    )
