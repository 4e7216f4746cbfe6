"""Read queries of the operator console: accounts, ledger, call records (keyset pages),
one call's attempts, its reports and every push of them, and dashboard figures.
Keyword-only, both backends.

Every query is bounded (LIMIT, or an indexed range) so a page stays fast with millions
of call records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceotp.store.attempts import call_attempts
from voiceotp.store.base import Store
from voiceotp.store.records import (
    DIALING,
    FINAL_STATES,
    QUEUED,
    AccountRecord,
    AuditEvent,
    PushAttempt,
)
from voiceotp.store.rows import ACCOUNT_COLUMNS, Tx, account_from_row

__all__ = [
    "ACCOUNT_SORTS",
    "CallFilter",
    "CallRow",
    "LedgerRow",
    "PushRow",
    "account_events",
    "accounts_needing_care",
    "blacklist_notes",
    "call_attempts",
    "call_pushes",
    "calls_in_state",
    "count_by_state",
    "find_accounts",
    "ledger_rows",
    "outbox_pending",
    "push_attempts",
    "search_calls",
    "set_blacklist_note",
    "submit_to_answer",
]

ACCOUNT_SORTS = {
    "name": "name",
    "balance": "balance",
    "-balance": "balance DESC",
    "state": "state, name",
    "new": "id DESC",
}


CALL_LIST = (
    "SELECT c.voiceid, a.name, c.mobile, c.state, c.created_at, c.answer_time, "
    "c.end_time, c.duration, c.sip_code, c.attempts FROM calls c "
    "JOIN accounts a ON a.id = c.account_id"
)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    delta: int
    reason: str
    voiceid: str | None
    at: float


@dataclass(frozen=True, slots=True)
class CallRow:
    voiceid: str
    account: str
    mobile: str  # no code: the console never reads one (docs/privacy.md)
    state: str
    created_at: float
    answer_time: float
    end_time: float
    duration: int
    sip_code: int
    attempts: int


@dataclass(frozen=True, slots=True)
class PushRow:
    report_id: str
    callback_url: str
    state: str
    attempts: int
    next_at: float
    created_at: float
    note: str


@dataclass(frozen=True, slots=True)
class CallFilter:
    account_id: int | None = None
    mobile: str | None = None  # the full number (audited by the caller)
    voiceid: int | None = None
    state: str | None = None
    since: float | None = None
    until: float | None = None


async def find_accounts(
    store: Store, *, search: str = "", sort: str = "name", limit: int = 500
) -> list[AccountRecord]:
    """Accounts whose name contains ``search``, ordered by ``sort`` (ACCOUNT_SORTS)."""
    order = ACCOUNT_SORTS.get(sort, "name")
    sql = (
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name LIKE $1 "  # noqa: S608 - constants
        f"ORDER BY {order} LIMIT $2"
    )
    pattern = "%" + search.replace("\\", "").replace("%", "").replace("_", "") + "%"
    rows = await store.read(sql, pattern, limit)
    return [account_from_row(r, frozenset()) for r in rows]


async def blacklist_notes(store: Store, *, account_id: int) -> dict[str, str]:
    """The account's blacklisted numbers with their notes."""
    rows = await store.read(
        "SELECT mobile, note FROM account_blacklist WHERE account_id = $1", account_id
    )
    return {str(m): str(n) for m, n in rows}


async def set_blacklist_note(store: Store, *, account_id: int, mobile: str, note: str) -> None:
    async def work(tx: Tx) -> None:
        await tx.execute(
            "UPDATE account_blacklist SET note = $3 WHERE account_id = $1 AND mobile = $2",
            account_id,
            mobile,
            note,
        )

    await store.transact(work)


async def ledger_rows(store: Store, *, account_id: int, limit: int = 50) -> list[LedgerRow]:
    rows = await store.read(
        "SELECT delta, reason, voiceid, created_at FROM ledger WHERE account_id = $1 "
        "ORDER BY id DESC LIMIT $2",
        account_id,
        limit,
    )
    return [
        LedgerRow(int(d), str(r), None if v is None else str(v), float(t)) for d, r, v, t in rows
    ]


async def account_events(store: Store, *, account_id: int, limit: int = 20) -> list[AuditEvent]:
    """The account's own audit events (abuse freezes with the detector's evidence), newest
    first."""
    rows = await store.read(
        "SELECT id, account_id, kind, detail, created_at FROM audit_events "
        "WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
        account_id,
        limit,
    )
    return [AuditEvent(int(i), a, str(k), str(d), float(t)) for i, a, k, d, t in rows]


async def search_calls(
    store: Store, *, where: CallFilter, after: int | None = None, limit: int = 50
) -> list[CallRow]:
    """Call records matching ``where``, newest first, the page after voiceid ``after``.

    By account or number, pages follow voiceids (their indexes end with it); by status or
    time alone they follow ``created_at`` (the status and time indexes), so a rare status
    or an old time range is a short index range, not a scan of every record.
    """
    clauses, args = _call_clauses(where)
    by_time = where.account_id is None and where.mobile is None and where.voiceid is None
    by_time = by_time and (
        where.state is not None or where.since is not None or where.until is not None
    )
    if after is not None and by_time:
        rows = await store.read("SELECT created_at FROM calls WHERE voiceid = $1", after)
        if rows:
            args += [float(rows[0][0]), after]
            n = len(args)
            clauses.append(
                f"(c.created_at < ${n - 1} OR (c.created_at = ${n - 1} AND c.voiceid < ${n}))"
            )
    elif after is not None:
        args.append(after)
        clauses.append(f"c.voiceid < ${len(args)}")
    where_sql = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    if by_time:
        # The inner query walks calls_by_time / calls_by_state (ORDER BY created_at alone:
        # with a second key PostgreSQL sorts every match, 150 ms for a common status in 1M
        # rows); the outer one orders ties by voiceid, so pages neither skip nor repeat.
        args += [limit * 2, limit]
        sql = (
            f"SELECT * FROM ({CALL_LIST} {where_sql} ORDER BY c.created_at DESC "  # noqa: S608
            f"LIMIT ${len(args) - 1}) AS page ORDER BY 5 DESC, 1 DESC LIMIT ${len(args)}"
        )
    else:
        args.append(limit)
        sql = f"{CALL_LIST} {where_sql} ORDER BY c.voiceid DESC LIMIT ${len(args)}"
    rows = await store.read(sql, *args)
    return [
        CallRow(
            str(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            float(r[4]),
            float(r[5]),
            float(r[6]),
            int(r[7]),
            int(r[8]),
            int(r[9]),
        )
        for r in rows
    ]


def _call_clauses(where: CallFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (
        ("c.account_id = ", where.account_id),
        ("c.mobile = ", where.mobile),
        ("c.voiceid = ", where.voiceid),
        ("c.state = ", where.state),
        ("c.created_at >= ", where.since),
        ("c.created_at < ", where.until),
    ):
        if value is not None:
            args.append(value)
            clauses.append(f"{column}${len(args)}")
    return clauses, args


async def call_pushes(store: Store, *, voiceid: int) -> list[PushRow]:
    """Status reports of the call in the outbox (ids ``<voiceid>-<attempts>``)."""
    rows = await store.read(
        "SELECT report_id, callback_url, state, attempts, next_at, created_at, note "
        "FROM outbox WHERE report_id > $1 AND report_id < $2 ORDER BY created_at",
        f"{voiceid}-",
        f"{voiceid}.",
    )
    return [
        PushRow(str(r[0]), str(r[1]), str(r[2]), int(r[3]), float(r[4]), float(r[5]), str(r[6]))
        for r in rows
    ]


async def push_attempts(store: Store, *, voiceid: int, limit: int = 200) -> list[PushAttempt]:
    """Every push of the call's reports, oldest first (at most ``limit``: ~30 a report)."""
    rows = await store.read(
        "SELECT report_id, voiceid, attempt, at, http_status, error, duration "
        "FROM push_attempts WHERE voiceid = $1 ORDER BY id LIMIT $2",
        voiceid,
        limit,
    )
    return [
        PushAttempt(str(r[0]), str(r[1]), int(r[2]), float(r[3]), int(r[4]), str(r[5]), float(r[6]))
        for r in rows
    ]


async def count_by_state(store: Store, *, since: float, until: float) -> dict[str, int]:
    """Calls accepted in [since, until) by state (queued, dialing and every final one)."""
    counts = {}
    for state in (QUEUED, DIALING, *FINAL_STATES):  # each an index range (calls_by_state)
        rows = await store.read(
            "SELECT COUNT(*) FROM calls WHERE state = $1 AND created_at >= $2 AND created_at < $3",
            state,
            since,
            until,
        )
        if int(rows[0][0]):
            counts[state] = int(rows[0][0])
    return counts


async def submit_to_answer(store: Store, *, since: float, limit: int = 2000) -> list[float]:
    """Seconds from Submit to answer of the latest answered calls since ``since``."""
    rows = await store.read(
        "SELECT answer_time - created_at FROM calls WHERE created_at >= $1 "
        "AND state = 'ANSWERED' AND answer_time > 0 ORDER BY created_at DESC LIMIT $2",
        since,
        limit,
    )
    return sorted(float(r[0]) for r in rows)


async def calls_in_state(store: Store, *, state: str) -> int:
    """Calls now in ``state`` (queued: the backlog, dialing: in flight)."""
    rows = await store.read("SELECT COUNT(*) FROM calls WHERE state = $1", state)
    return int(rows[0][0])


async def outbox_pending(store: Store) -> int:
    rows = await store.read("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
    return int(rows[0][0])


async def accounts_needing_care(
    store: Store, *, low_balance: int, limit: int = 20
) -> tuple[list[AccountRecord], list[AccountRecord]]:
    """(accounts at or below ``low_balance``, frozen accounts), each at most ``limit``."""
    low = await store.read(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE balance <= $1 AND state = 'active' "  # noqa: S608
        "ORDER BY balance, name LIMIT $2",
        low_balance,
        limit,
    )
    frozen = await store.read(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE state <> 'active' "  # noqa: S608
        "ORDER BY name LIMIT $1",
        limit,
    )
    return (
        [account_from_row(r, frozenset()) for r in low],
        [account_from_row(r, frozenset()) for r in frozen],
    )
