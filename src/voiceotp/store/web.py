"""The browser faces' own state: web users, server-side sessions, sign-in throttling and
the web audit log. Keyword-only functions over any :class:`Store` (SQLite, PostgreSQL).

A user has a ``kind`` (``operator`` for the console, ``customer`` for the user center);
sessions, throttling and the audit log do not care which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceotp.store.base import Store
from voiceotp.store.records import StoreError
from voiceotp.store.rows import Row, Tx

__all__ = [
    "AuditEntry",
    "WebSession",
    "WebUser",
    "audit_within_limit",
    "clear_signin_failures",
    "create_session",
    "create_web_user",
    "get_session",
    "get_web_user",
    "insert_web_user",
    "list_audit",
    "list_web_users",
    "prune_sessions",
    "record_signin_failure",
    "revoke_session",
    "signin_locked_until",
    "touch_session",
    "update_web_user",
    "write_audit",
]

USER_COLUMNS = (
    "id, kind, login, password_hash, role, totp_secret, language, disabled, created_at, account_id"
)
USER_SETTABLE = ("password_hash", "role", "totp_secret", "language", "disabled")


@dataclass(frozen=True, slots=True)
class WebUser:
    id: int
    kind: str
    login: str
    password_hash: str
    role: str
    totp_secret: str | None
    language: str
    disabled: bool
    created_at: float
    account_id: int | None = None  # a customer's account (None for operators)


@dataclass(frozen=True, slots=True)
class WebSession:
    token_hash: str
    user: WebUser
    csrf: str
    created_at: float
    seen_at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    actor_kind: str
    action: str
    target: str
    before: str
    after: str
    ip: str


def _user(row: Row) -> WebUser:
    return WebUser(
        id=int(row[0]),
        kind=str(row[1]),
        login=str(row[2]),
        password_hash=str(row[3]),
        role=str(row[4]),
        totp_secret=None if row[5] is None else str(row[5]),
        language=str(row[6]),
        disabled=bool(row[7]),
        created_at=float(row[8]),
        account_id=None if row[9] is None else int(row[9]),
    )


# ---- users ------------------------------------------------------------------------------------
async def create_web_user(
    store: Store,
    *,
    kind: str,
    login: str,
    password_hash: str,
    role: str,
    now: float,
    account_id: int | None = None,
) -> WebUser:
    """A new user; StoreError when ``login`` is taken for this kind."""
    if await get_web_user(store, kind=kind, login=login) is not None:
        raise StoreError(f"{kind} {login} exists")

    async def work(tx: Tx) -> None:
        await insert_web_user(tx, kind, login, password_hash, role, now, account_id)

    await store.transact(work)
    user = await get_web_user(store, kind=kind, login=login)
    assert user is not None
    return user


async def insert_web_user(
    tx: Tx,
    kind: str,
    login: str,
    password_hash: str,
    role: str,
    now: float,
    account_id: int | None = None,
) -> None:
    """The INSERT of :func:`create_web_user`, inside a caller's transaction."""
    await tx.execute(
        "INSERT INTO web_users (kind, login, password_hash, role, language, disabled, "
        "created_at, account_id) VALUES ($1, $2, $3, $4, 'zh', FALSE, $5, $6)",
        kind,
        login,
        password_hash,
        role,
        now,
        account_id,
    )


async def get_web_user(store: Store, *, kind: str, login: str) -> WebUser | None:
    sql = f"SELECT {USER_COLUMNS} FROM web_users WHERE kind = $1 AND login = $2"  # noqa: S608
    rows = await store.read(sql, kind, login)
    return _user(rows[0]) if rows else None


async def list_web_users(store: Store, *, kind: str) -> list[WebUser]:
    sql = f"SELECT {USER_COLUMNS} FROM web_users WHERE kind = $1 ORDER BY login"  # noqa: S608
    return [_user(r) for r in await store.read(sql, kind)]


async def update_web_user(store: Store, *, user_id: int, **changes: Any) -> None:
    """Change settable columns (``USER_SETTABLE``)."""
    bad = set(changes) - set(USER_SETTABLE)
    if bad or not changes:
        raise StoreError(f"not settable: {', '.join(sorted(bad)) or '(nothing)'}")
    names = list(changes)
    sets = ", ".join(f"{col} = ${i + 2}" for i, col in enumerate(names))
    sql = f"UPDATE web_users SET {sets} WHERE id = $1"  # noqa: S608 - columns checked above

    async def work(tx: Tx) -> None:
        await tx.execute(sql, user_id, *(changes[c] for c in names))

    await store.transact(work)


# ---- sessions ---------------------------------------------------------------------------------
async def create_session(
    store: Store, *, token_hash: str, user_id: int, csrf: str, ip: str, now: float
) -> None:
    async def work(tx: Tx) -> None:
        await tx.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf, ip, created_at, seen_at, "
            "revoked) VALUES ($1, $2, $3, $4, $5, $5, FALSE)",
            token_hash,
            user_id,
            csrf,
            ip,
            now,
        )

    await store.transact(work)


async def get_session(store: Store, *, token_hash: str) -> WebSession | None:
    """The live (not revoked) session with this token hash, and its user."""
    columns = ", ".join(f"u.{c.strip()}" for c in USER_COLUMNS.split(","))
    rows = await store.read(
        f"SELECT s.csrf, s.created_at, s.seen_at, {columns} FROM web_sessions s "  # noqa: S608
        "JOIN web_users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.revoked = FALSE",
        token_hash,
    )
    if not rows:
        return None
    row = rows[0]
    return WebSession(token_hash, _user(row[3:]), str(row[0]), float(row[1]), float(row[2]))


async def prune_sessions(store: Store, *, created_before: float) -> None:
    """Forget sessions that can no longer be used (older than the absolute timeout)."""
    await _write(store, "DELETE FROM web_sessions WHERE created_at < $1", created_before)


async def touch_session(store: Store, *, token_hash: str, now: float) -> None:
    await _write(
        store, "UPDATE web_sessions SET seen_at = $2 WHERE token_hash = $1", token_hash, now
    )


async def revoke_session(
    store: Store, *, token_hash: str | None = None, user_id: int | None = None
) -> None:
    """Revoke one session, or every session of a user."""
    if token_hash is not None:
        await _write(
            store, "UPDATE web_sessions SET revoked = TRUE WHERE token_hash = $1", token_hash
        )
    elif user_id is not None:
        await _write(store, "UPDATE web_sessions SET revoked = TRUE WHERE user_id = $1", user_id)
    else:
        raise StoreError("revoke what?")


# ---- sign-in throttling -----------------------------------------------------------------------
async def signin_locked_until(store: Store, *, key: str) -> float:
    rows = await store.read("SELECT locked_until FROM web_signin_failures WHERE key = $1", key)
    return float(rows[0][0]) if rows else 0.0


async def record_signin_failure(
    store: Store, *, key: str, now: float, window_s: float, limit: int, lock_s: float
) -> float:
    """Count one failed sign-in for ``key``; the time it is locked until (0: not locked).

    ``limit`` failures within ``window_s`` lock the key for ``lock_s``.
    """

    async def work(tx: Tx) -> float:
        row = await tx.fetchrow(
            "SELECT failures, window_start, locked_until FROM web_signin_failures WHERE key = $1",
            key,
        )
        failures, start, locked = (
            (0, now, 0.0) if row is None else (int(row[0]), float(row[1]), float(row[2]))
        )
        if now - start > window_s:
            failures, start = 0, now
        failures += 1
        locked = now + lock_s if failures >= limit else locked
        await tx.execute(
            "INSERT INTO web_signin_failures (key, failures, window_start, locked_until) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET failures = $2, "
            "window_start = $3, locked_until = $4",
            key,
            failures,
            float(start),
            locked,
        )
        return locked

    return await store.transact(work)


async def clear_signin_failures(store: Store, *, key: str) -> None:
    await _write(store, "DELETE FROM web_signin_failures WHERE key = $1", key)


# ---- audit ------------------------------------------------------------------------------------
async def write_audit(
    store: Store,
    *,
    actor: str,
    actor_kind: str,
    action: str,
    target: str,
    before: str,
    after: str,
    ip: str,
    now: float,
) -> None:
    await _write(
        store,
        "INSERT INTO web_audit (at, actor, actor_kind, action, target, before, after, ip) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        now,
        actor,
        actor_kind,
        action,
        target,
        before,
        after,
        ip,
    )


async def list_audit(
    store: Store, *, limit: int = 100, target: str | None = None, before_id: int | None = None
) -> list[AuditEntry]:
    """Newest first; ``target`` narrows to one account or rule list."""
    where: list[str] = ["id < $1"]
    args: list[Any] = [before_id if before_id is not None else 2**62]
    if target is not None:
        args.append(target)
        where.append(f"target = ${len(args)}")
    args.append(limit)
    rows = await store.read(
        "SELECT id, at, actor, actor_kind, action, target, before, after, ip FROM web_audit "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ${len(args)}",
        *args,
    )
    return [AuditEntry(int(r[0]), float(r[1]), *(str(v) for v in r[2:])) for r in rows]


async def audit_within_limit(
    store: Store,
    *,
    limit: int,
    window_s: float,
    actor: str,
    actor_kind: str,
    action: str,
    target: str,
    ip: str,
    now: float,
) -> bool:
    """Audit ``action`` on the account ``target`` unless it was audited ``limit`` times in
    the last ``window_s``: True when written. Counted and written under the account's
    row lock, so concurrent requests (any process) cannot all pass one count."""

    async def work(tx: Tx) -> bool:
        lock = store.row_lock("FOR UPDATE")
        await tx.fetchrow(f"SELECT id FROM accounts WHERE name = $1{lock}", target)  # noqa: S608
        row = await tx.fetchrow(
            "SELECT COUNT(*) FROM web_audit WHERE target = $1 AND action = $2 AND at >= $3",
            target,
            action,
            now - window_s,
        )
        if row is not None and int(row[0]) >= limit:
            return False
        await tx.execute(
            "INSERT INTO web_audit (at, actor, actor_kind, action, target, before, after, ip) "
            "VALUES ($1, $2, $3, $4, $5, '', '', $6)",
            now,
            actor,
            actor_kind,
            action,
            target,
            ip,
        )
        return True

    return await store.transact(work)


async def _write(store: Store, sql: str, *args: Any) -> None:
    async def work(tx: Tx) -> None:
        await tx.execute(sql, *args)

    await store.transact(work)
