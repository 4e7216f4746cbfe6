"""The user center's state: sign-ups (a voice code called to a number), trial accounts
opened by them, enterprise certifications, and the figures of a customer's overview.
Keyword-only functions over any :class:`Store` (SQLite, PostgreSQL).

Every read that returns an account's data takes the account id: the user center passes
the signed-in customer's own, never one from the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceotp.store.base import Store
from voiceotp.store.records import MAX_BALANCE, StoreError
from voiceotp.store.rows import BUMP_POLICY, Row, Tx, adjust_in
from voiceotp.store.web import insert_web_user

__all__ = [
    "CERT_STATES",
    "Certification",
    "LowBalance",
    "Signup",
    "account_names",
    "call_counts",
    "certification_states",
    "claim_low_balance",
    "decide_certification",
    "drop_signup",
    "finish_signup",
    "get_certification",
    "get_signup",
    "latest_certification",
    "list_certifications",
    "list_signups",
    "open_trial_account",
    "rearm_low_balance",
    "reserve_signup",
    "set_signup_call",
    "submit_certification",
]

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
CERT_STATES = (PENDING, APPROVED, REJECTED)
CALLING, DONE = "calling", "done"


@dataclass(frozen=True, slots=True)
class Signup:
    id: int
    mobile: str
    ip: str
    voiceid: str
    state: str  # calling | done
    account_id: int | None
    created_at: float
    done_at: float


@dataclass(frozen=True, slots=True)
class Certification:
    id: int
    account_id: int
    company: str
    uscc: str
    contact_name: str
    contact_phone: str
    file_name: str
    file_type: str
    file_size: int
    file_ref: str
    state: str
    reason: str
    submitted_by: str
    submitted_at: float
    decided_by: str
    decided_at: float


_SIGNUP_COLUMNS = "id, mobile, ip, voiceid, state, account_id, created_at, done_at"
_CERT_COLUMNS = (
    "id, account_id, company, uscc, contact_name, contact_phone, file_name, file_type, "
    "file_size, file_ref, state, reason, submitted_by, submitted_at, decided_by, decided_at"
)


def _signup(row: Row) -> Signup:
    return Signup(
        id=int(row[0]),
        mobile=str(row[1]),
        ip=str(row[2]),
        voiceid=str(row[3]),
        state=str(row[4]),
        account_id=None if row[5] is None else int(row[5]),
        created_at=float(row[6]),
        done_at=float(row[7]),
    )


def _cert(row: Row) -> Certification:
    return Certification(
        id=int(row[0]),
        account_id=int(row[1]),
        company=str(row[2]),
        uscc=str(row[3]),
        contact_name=str(row[4]),
        contact_phone=str(row[5]),
        file_name=str(row[6]),
        file_type=str(row[7]),
        file_size=int(row[8]),
        file_ref=str(row[9]),
        state=str(row[10]),
        reason=str(row[11]),
        submitted_by=str(row[12]),
        submitted_at=float(row[13]),
        decided_by=str(row[14]),
        decided_at=float(row[15]),
    )


# ---- sign-ups ---------------------------------------------------------------------------------
async def reserve_signup(
    store: Store,
    *,
    token_hash: str,
    mobile: str,
    ip: str,
    now: float,
    per_ip_hour: int,
    per_number_day: int,
    lock_account_id: int,
) -> str:
    """Count this sign-up call against the limits and record it, atomically: "" when
    recorded, else what refused it ("ip" or "number"; nothing recorded).

    Sign-ups serialise on ``lock_account_id``'s row (the sign-up account: rare writes),
    so concurrent requests in any process cannot all pass the same count.
    """

    async def work(tx: Tx) -> str:
        lock = store.row_lock("FOR UPDATE")
        await tx.fetchrow(f"SELECT id FROM accounts WHERE id = $1{lock}", lock_account_id)  # noqa: S608
        for column, value, limit, window in (
            ("ip", ip, per_ip_hour, 3600.0),
            ("mobile", mobile, per_number_day, 86_400.0),
        ):
            if not limit:
                continue
            row = await tx.fetchrow(
                f"SELECT COUNT(*) FROM signups WHERE {column} = $1 AND created_at >= $2",  # noqa: S608
                value,
                now - window,
            )
            if row is not None and int(row[0]) >= limit:
                return "ip" if column == "ip" else "number"
        await tx.execute(
            "INSERT INTO signups (token_hash, mobile, ip, voiceid, state, created_at) "
            "VALUES ($1, $2, $3, '', $4, $5)",
            token_hash,
            mobile,
            ip,
            CALLING,
            now,
        )
        return ""

    return await store.transact(work)


async def set_signup_call(store: Store, *, token_hash: str, voiceid: str) -> None:
    """The call placed for a reserved sign-up."""
    await _write(
        store, "UPDATE signups SET voiceid = $2 WHERE token_hash = $1", token_hash, voiceid
    )


async def drop_signup(store: Store, *, token_hash: str) -> None:
    """A reserved sign-up whose call was refused (it placed no call: it counts for nothing)."""
    await _write(store, "DELETE FROM signups WHERE token_hash = $1", token_hash)


async def get_signup(store: Store, *, token_hash: str) -> Signup | None:
    sql = f"SELECT {_SIGNUP_COLUMNS} FROM signups WHERE token_hash = $1"  # noqa: S608
    rows = await store.read(sql, token_hash)
    return _signup(rows[0]) if rows else None


async def finish_signup(store: Store, *, signup_id: int, account_id: int, now: float) -> bool:
    """Mark a sign-up used (once: False when it already was)."""

    async def work(tx: Tx) -> bool:
        row = await tx.fetchrow(
            "UPDATE signups SET state = $2, account_id = $3, done_at = $4 "
            "WHERE id = $1 AND state = $5 RETURNING id",
            signup_id,
            DONE,
            account_id,
            now,
            CALLING,
        )
        return row is not None

    return await store.transact(work)


async def list_signups(store: Store, *, limit: int = 100) -> list[Signup]:
    sql = f"SELECT {_SIGNUP_COLUMNS} FROM signups ORDER BY id DESC LIMIT $1"  # noqa: S608
    return [_signup(r) for r in await store.read(sql, limit)]


async def open_trial_account(
    store: Store,
    *,
    name: str,
    apikey_enc: str,
    mobile: str,
    free_calls: int,
    login: str,
    password_hash: str,
    now: float,
) -> int:
    """A trial account that may call ``mobile`` only, ``free_calls`` units on it, and its
    first customer user — one transaction. The account's id."""
    if not 0 <= free_calls <= MAX_BALANCE:
        raise StoreError("free_calls out of range")

    async def work(tx: Tx) -> int:
        row = await tx.fetchrow(
            "INSERT INTO accounts (name, apikey_enc, balance, state, require_dynamic, "
            "allow_ips, callback_url, version, created_at, trial, trial_numbers) "
            "VALUES ($1, $2, 0, 'active', FALSE, '', '', 1, $3, TRUE, $4) RETURNING id",
            name,
            apikey_enc,
            now,
            mobile,
        )
        assert row is not None
        account_id = int(row[0])
        if free_calls:
            await adjust_in(tx, account_id, free_calls, "trial", now, ceiling=MAX_BALANCE)
        await insert_web_user(tx, "customer", login, password_hash, "owner", now, account_id)
        await tx.execute(BUMP_POLICY)
        return account_id

    return await store.transact(work)


# ---- certifications ---------------------------------------------------------------------------
async def submit_certification(
    store: Store,
    *,
    account_id: int,
    company: str,
    uscc: str,
    contact_name: str,
    contact_phone: str,
    file_name: str,
    file_type: str,
    file_size: int,
    file_ref: str,
    submitted_by: str,
    now: float,
) -> int | None:
    """A pending request for the account; its id — or None when the account already has
    one pending or approved (the account's row is locked meanwhile, so two at once cannot
    both pass)."""

    async def work(tx: Tx) -> int | None:
        await tx.fetchrow(
            "SELECT id FROM accounts WHERE id = $1" + store.row_lock("FOR UPDATE"),  # noqa: S608
            account_id,
        )
        open_ = await tx.fetchrow(
            "SELECT id FROM certifications WHERE account_id = $1 AND state IN ($2, $3) LIMIT 1",
            account_id,
            PENDING,
            APPROVED,
        )
        if open_ is not None:
            return None
        row = await tx.fetchrow(
            "INSERT INTO certifications (account_id, company, uscc, contact_name, "
            "contact_phone, file_name, file_type, file_size, file_ref, state, submitted_by, "
            "submitted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
            "RETURNING id",
            account_id,
            company,
            uscc,
            contact_name,
            contact_phone,
            file_name,
            file_type,
            file_size,
            file_ref,
            PENDING,
            submitted_by,
            now,
        )
        assert row is not None
        return int(row[0])

    return await store.transact(work)


async def latest_certification(store: Store, *, account_id: int) -> Certification | None:
    sql = (
        f"SELECT {_CERT_COLUMNS} FROM certifications WHERE account_id = $1 "  # noqa: S608
        "ORDER BY id DESC LIMIT 1"
    )
    rows = await store.read(sql, account_id)
    return _cert(rows[0]) if rows else None


async def get_certification(store: Store, *, cert_id: int) -> Certification | None:
    sql = f"SELECT {_CERT_COLUMNS} FROM certifications WHERE id = $1"  # noqa: S608
    rows = await store.read(sql, cert_id)
    return _cert(rows[0]) if rows else None


async def list_certifications(
    store: Store, *, state: str | None = None, limit: int = 200
) -> list[Certification]:
    """Pending first (what waits for an operator), then newest first; ``state`` narrows."""
    where, args = ("WHERE state = $2 ", [state]) if state is not None else ("", [])
    sql = (
        f"SELECT {_CERT_COLUMNS} FROM certifications {where}"  # noqa: S608 - constants
        f"ORDER BY CASE WHEN state = '{PENDING}' THEN 0 ELSE 1 END, id DESC LIMIT $1"
    )
    return [_cert(r) for r in await store.read(sql, limit, *args)]


async def account_names(store: Store, *, ids: set[int]) -> dict[int, str]:
    """The names of the accounts ``ids`` (for lists of requests and sign-ups)."""
    if not ids:
        return {}
    marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
    sql = f"SELECT id, name FROM accounts WHERE id IN ({marks})"  # noqa: S608 - placeholders
    return {int(i): str(n) for i, n in await store.read(sql, *sorted(ids))}


async def certification_states(store: Store) -> dict[int, str]:
    """Each account's latest certification state (accounts that never asked: absent)."""
    rows = await store.read(
        "SELECT account_id, state FROM certifications WHERE id IN "
        "(SELECT MAX(id) FROM certifications GROUP BY account_id)"
    )
    return {int(a): str(s) for a, s in rows}


async def decide_certification(
    store: Store, *, cert_id: int, approve: bool, reason: str, by: str, now: float
) -> Certification | None:
    """Approve (the account leaves its trial) or reject a pending request, once; None
    when it was not pending."""

    async def work(tx: Tx) -> int | None:
        row = await tx.fetchrow(
            "UPDATE certifications SET state = $2, reason = $3, decided_by = $4, "
            "decided_at = $5 WHERE id = $1 AND state = $6 RETURNING account_id",
            cert_id,
            APPROVED if approve else REJECTED,
            reason,
            by,
            now,
            PENDING,
        )
        if row is None:
            return None
        if approve:
            await tx.execute(
                "UPDATE accounts SET trial = FALSE, version = version + 1 WHERE id = $1", row[0]
            )
            await tx.execute(BUMP_POLICY)
        return int(row[0])

    if await store.transact(work) is None:
        return None
    return await get_certification(store, cert_id=cert_id)


# ---- the overview's figures -------------------------------------------------------------------
async def call_counts(store: Store, *, account_id: int, since: tuple[float, ...]) -> list[int]:
    """The account's accepted calls since each time in ``since``."""
    counts = []
    for start in since:
        rows = await store.read(
            "SELECT COUNT(*) FROM calls WHERE account_id = $1 AND created_at >= $2",
            account_id,
            start,
        )
        counts.append(int(rows[0][0]))
    return counts


# ---- the low-balance alert (delivery/notify/alerts.py) -----------------------------------------
@dataclass(frozen=True, slots=True)
class LowBalance:
    account: str
    balance: int
    threshold: int
    callback_url: str


async def rearm_low_balance(store: Store) -> None:
    """Accounts alerted whose balance is above the threshold again (or that turned the
    alert off) may be alerted at the next fall. Writes only when there is one."""
    condition = "low_balance_alerted AND (low_balance_alert IS NULL OR balance > low_balance_alert)"
    if await store.read(f"SELECT id FROM accounts WHERE {condition} LIMIT 1"):  # noqa: S608
        await _write(store, f"UPDATE accounts SET low_balance_alerted = FALSE WHERE {condition}")  # noqa: S608


async def claim_low_balance(store: Store, *, limit: int = 50) -> list[LowBalance]:
    """Accounts with a callback URL whose balance fell below their threshold and that
    were not alerted yet, now marked alerted (each claimed by one caller only)."""
    pick = (
        "SELECT id FROM accounts WHERE low_balance_alert IS NOT NULL "
        "AND balance < low_balance_alert AND NOT low_balance_alerted AND callback_url <> ''"
    )
    if not await store.read(pick + " LIMIT 1"):
        return []  # the common case, without taking the write lock

    async def work(tx: Tx) -> list[LowBalance]:
        claimed = []
        for (account_id,) in await tx.fetch(pick + " LIMIT $1", limit):
            row = await tx.fetchrow(
                "UPDATE accounts SET low_balance_alerted = TRUE WHERE id = $1 "
                "AND NOT low_balance_alerted RETURNING name, balance, low_balance_alert, "
                "callback_url",
                account_id,
            )
            if row is not None:
                claimed.append(LowBalance(str(row[0]), int(row[1]), int(row[2]), str(row[3])))
        return claimed

    return await store.transact(work)


async def _write(store: Store, sql: str, *args: Any) -> None:
    async def work(tx: Tx) -> None:
        await tx.execute(sql, *args)

    await store.transact(work)
