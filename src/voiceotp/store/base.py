"""The Store interface, and everything both SQL stores share.

A store owns the gateway's persistent state: accounts, server policy, the balance and
its ledger, accepted calls (the seam to delivery) and audit events. Two implementations
— :class:`~voiceotp.store.sqlite.SQLiteStore` and
:class:`~voiceotp.store.postgres.PostgresStore` — pass one contract suite.

SQL here is written with ``$1`` placeholders (asyncpg's); the SQLite store rewrites them
to ``?1``. Admin writes bump ``policy_version`` so other processes drop their caches.
The Submit hot path (:meth:`Store.accept`) is backend-specific: group commit.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from voiceotp.store.apilock import ProcessLock
from voiceotp.store.records import (
    ACCOUNT_SETTABLE,
    ACCOUNT_STATES,
    MAX_BALANCE,
    POLICY_KINDS,
    Acceptance,
    AcceptOutcome,
    AccountRecord,
    AuditEvent,
    CallRecord,
    KeyUse,
    StoreError,
)
from voiceotp.store.rows import (
    ACCOUNT_COLUMNS,
    BUMP_POLICY,
    CALL_COLUMNS,
    Row,
    Tx,
    account_from_row,
    adjust_in,
    call_from_row,
)
from voiceotp.store.voiceids import voiceid_number

__all__ = ["Store", "StoreError", "T", "Tx"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class Store(abc.ABC):
    """Persistent state of the gateway. Open before use, close after."""

    _batch_listeners: tuple[Callable[[int], None], ...] = ()

    def add_batch_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener`` with the size of every group-commit batch (a metrics hook)."""
        self._batch_listeners = (*self._batch_listeners, listener)

    def _observe_batch(self, size: int) -> None:
        for listener in self._batch_listeners:
            try:
                listener(size)
            except Exception:  # a metrics hook never fails a commit
                log.exception("batch listener failed")

    # ---- lifecycle and backend primitives --------------------------------------------
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and start the group-commit writer (migrations are applied separately)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Commit what is queued and disconnect."""

    @abc.abstractmethod
    async def api_process_lock(self, *, shared: bool) -> ProcessLock:
        """Take this store's API process lock (store/apilock.py): ``shared`` by a process
        whose caps live in Redis, exclusively by one whose caps live in memory."""

    @abc.abstractmethod
    async def read(self, sql: str, *args: Any) -> list[Row]:
        """Rows of one read-only query (``$1``-style parameters on both backends)."""

    @abc.abstractmethod
    async def transact(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``work`` in one write transaction and return its result: committed when it
        returns, rolled back when it raises (the error propagates). ``work`` gets a
        :class:`~voiceotp.store.rows.Tx` (``$1``-style parameters on both backends) and
        must not touch the store otherwise; writers are serialised per backend (SQLite:
        ``BEGIN IMMEDIATE``; PostgreSQL: the rows ``row_lock`` locks)."""

    async def write_one(self, sql: str, *args: Any) -> Row | None:
        """Run one writing statement as a transaction of its own (committed, durable, when
        it returns) and return its first row (``RETURNING``), or None. PostgreSQL: without
        ``BEGIN``/``COMMIT`` round trips (the statement commits implicitly)."""
        return await self.transact(lambda tx: tx.fetchrow(sql, *args))

    async def scrub_journal(self) -> bool:
        """Leave no old copy of erased values in the store's own files where the backend
        keeps them past an UPDATE (SQLite: the WAL); True when done. PostgreSQL: nothing
        to do here (rows are updated in place of the old; dead row versions go at the next
        VACUUM, which autovacuum runs)."""
        return True

    def row_lock(self, clause: str) -> str:
        """The row-locking ``clause`` of a ``SELECT`` inside :meth:`transact` (e.g.
        ``"FOR UPDATE"``, ``"FOR UPDATE SKIP LOCKED"``), with a leading space, where the
        backend needs one; empty by default (SQLite: ``BEGIN IMMEDIATE`` already
        serialises writers)."""
        return ""

    # ---- the hot path and the delivery seam --------------------------------------------
    @abc.abstractmethod
    async def accept(self, item: Acceptance) -> AcceptOutcome:
        """Hold one unit and queue the call durably — or report a replay or no balance.

        Returns only after the transaction holding this acceptance has committed.
        """

    # ---- reads -----------------------------------------------------------------------
    async def get_account(self, name: str) -> AccountRecord | None:
        """The account named ``name`` with its blacklist, or None."""
        sql = f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = $1"  # noqa: S608 - constant
        rows = await self.read(sql, name)
        if not rows:
            return None
        listed = await self.read(
            "SELECT mobile FROM account_blacklist WHERE account_id = $1", rows[0][0]
        )
        return account_from_row(rows[0], frozenset(r[0] for r in listed))

    async def account_name(self, account_id: int) -> str | None:
        rows = await self.read("SELECT name FROM accounts WHERE id = $1", account_id)
        return str(rows[0][0]) if rows else None

    async def list_accounts(self) -> list[AccountRecord]:
        rows = await self.read(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id")  # noqa: S608
        return [account_from_row(r, frozenset()) for r in rows]

    async def get_balance(self, account_id: int) -> int:
        rows = await self.read("SELECT balance FROM accounts WHERE id = $1", account_id)
        return int(rows[0][0]) if rows else 0

    async def ledger_sum(self, account_id: int) -> int:
        rows = await self.read(
            "SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE account_id = $1", account_id
        )
        return int(rows[0][0])

    async def find_idempotent(self, account_id: int, key: str) -> KeyUse | None:
        """The call stored under this idempotency key (its voiceid, mobile, content)."""
        rows = await self.read(
            "SELECT voiceid, mobile, content || notice_text FROM calls "
            "WHERE account_id = $1 AND idem_key = $2",
            account_id,
            key,
        )
        if not rows:
            return None
        voiceid, mobile, content = rows[0]
        return KeyUse(str(voiceid), str(mobile), str(content))

    async def get_call(self, voiceid: str) -> CallRecord | None:
        number = voiceid_number(voiceid)
        if number is None:
            return None
        sql = f"SELECT {CALL_COLUMNS} FROM calls WHERE voiceid = $1"  # noqa: S608 - constant
        rows = await self.read(sql, number)
        return call_from_row(rows[0]) if rows else None

    async def count_calls(self, account_id: int | None = None) -> int:
        if account_id is None:
            return int((await self.read("SELECT COUNT(*) FROM calls"))[0][0])
        rows = await self.read("SELECT COUNT(*) FROM calls WHERE account_id = $1", account_id)
        return int(rows[0][0])

    async def recent_calls(self, since: float) -> list[tuple[int, str, float]]:
        """(account_id, mobile, created_at) of calls accepted since ``since`` (caps warm-up)."""
        rows = await self.read(
            "SELECT account_id, mobile, created_at FROM calls WHERE created_at >= $1 "
            "ORDER BY created_at",
            since,
        )
        return [(int(a), str(m), float(t)) for a, m, t in rows]

    async def policy_entries(self) -> dict[str, frozenset[str]]:
        """Server-wide lists by kind: deny_ip, blacklist, sensitive_word."""
        rows = await self.read("SELECT kind, value FROM policy_entries")
        return {k: frozenset(v for kind, v in rows if kind == k) for k in POLICY_KINDS}

    async def policy_version(self) -> int:
        """Bumped by every admin write: a changed value means caches are stale."""
        rows = await self.read("SELECT value FROM counters WHERE name = 'policy_version'")
        return int(rows[0][0])

    async def audit_events(self, account_id: int | None = None) -> list[AuditEvent]:
        sql = "SELECT id, account_id, kind, detail, created_at FROM audit_events"
        rows = await (
            self.read(sql + " ORDER BY id")
            if account_id is None
            else self.read(sql + " WHERE account_id = $1 ORDER BY id", account_id)
        )
        return [AuditEvent(int(i), a, str(k), str(d), float(t)) for i, a, k, d, t in rows]

    async def consistency_problems(self) -> list[str]:
        """What breaks the invariants (empty = healthy): every balance equals its ledger's
        sum, every call has exactly one hold, and every hold belongs to a call."""
        problems = []
        rows = await self.read(
            "SELECT a.name, a.balance, COALESCE(SUM(l.delta), 0) FROM accounts a "
            "LEFT JOIN ledger l ON l.account_id = a.id GROUP BY a.id, a.name, a.balance"
        )
        problems += [f"{n}: balance {b} != ledger {s}" for n, b, s in rows if int(b) != int(s)]
        rows = await self.read(
            "SELECT c.voiceid, COUNT(l.id) FROM calls c LEFT JOIN ledger l "
            "ON l.voiceid = c.voiceid AND l.reason = 'hold' GROUP BY c.voiceid"
        )
        problems += [f"call {v} has {n} holds" for v, n in rows if int(n) != 1]
        rows = await self.read(
            "SELECT l.voiceid FROM ledger l LEFT JOIN calls c ON c.voiceid = l.voiceid "
            "WHERE l.voiceid IS NOT NULL AND c.voiceid IS NULL"
        )
        problems += [f"ledger row for missing call {v}" for (v,) in rows]
        return problems

    # ---- admin writes ------------------------------------------------------------------
    async def create_account(
        self, *, name: str, apikey_enc: str, now: float, balance: int = 0
    ) -> AccountRecord:
        """A new active account; an opening balance (at most MAX_BALANCE) is written to
        the ledger as a top-up."""

        async def work(tx: Tx) -> None:
            row = await tx.fetchrow(
                "INSERT INTO accounts (name, apikey_enc, balance, state, require_dynamic, "
                "allow_ips, callback_url, version, created_at) "
                "VALUES ($1, $2, 0, 'active', FALSE, '', '', 1, $3) RETURNING id",
                name,
                apikey_enc,
                now,
            )
            assert row is not None
            if balance:
                await adjust_in(tx, int(row[0]), balance, "topup", now, ceiling=MAX_BALANCE)
            await tx.execute(BUMP_POLICY)

        await self.transact(work)
        account = await self.get_account(name)
        assert account is not None
        return account

    async def update_account(self, name: str, **changes: Any) -> AccountRecord:
        """Change settable columns (see ``ACCOUNT_SETTABLE``); bumps the account's version."""
        bad = set(changes) - set(ACCOUNT_SETTABLE)
        if bad:
            raise StoreError(f"not settable: {', '.join(sorted(bad))}")
        if changes.get("state", "active") not in ACCOUNT_STATES:
            raise StoreError(f"unknown state {changes['state']!r}")
        for listed in ("allow_ips", "trial_numbers"):
            if listed in changes:
                changes[listed] = ",".join(changes[listed])
        names = list(changes)
        # Column names come from ACCOUNT_SETTABLE (checked above), values are parameters.
        sets = ", ".join(f"{col} = ${i + 2}" for i, col in enumerate(names))
        sql = f"UPDATE accounts SET {sets}, version = version + 1 WHERE name = $1 RETURNING id"  # noqa: S608

        async def work(tx: Tx) -> None:
            row = await tx.fetchrow(
                sql,
                name,
                *(changes[c] for c in names),
            )
            if row is None:
                raise StoreError(f"unknown account {name}")
            await tx.execute(BUMP_POLICY)

        await self.transact(work)
        account = await self.get_account(name)
        assert account is not None
        return account

    async def rotate_apikey(
        self, name: str, *, apikey_enc: str, grace_until: float, now: float
    ) -> bool:
        """The new key, in ONE statement. With ``grace_until`` (> 0) the key it replaces
        (the row's own, read by the same UPDATE) stays valid until then — refused (False,
        nothing changed) while an earlier key is still in its grace, so two rotations at
        once cannot cut a grace short. Without, every older key stops now."""
        keep = grace_until > 0

        async def work(tx: Tx) -> bool:
            row = await tx.fetchrow(
                "UPDATE accounts SET "
                "old_apikey_enc = CASE WHEN $3 THEN apikey_enc ELSE '' END, "
                "old_apikey_until = CASE WHEN $3 THEN $4 ELSE 0 END, "
                "apikey_enc = $2, version = version + 1 "
                "WHERE name = $1 AND (NOT $3 OR old_apikey_until <= $5) RETURNING id",
                name,
                apikey_enc,
                keep,
                grace_until,
                now,
            )
            if row is not None:
                await tx.execute(BUMP_POLICY)
            return row is not None

        return await self.transact(work)

    async def adjust_balance(self, account_id: int, delta: int, reason: str, now: float) -> int:
        """Add ``delta`` (top-up > 0, adjustment < 0) with a ledger row; the new balance.
        StoreError when it would go below zero or above MAX_BALANCE."""

        async def work(tx: Tx) -> int:
            return await adjust_in(tx, account_id, delta, reason, now, ceiling=MAX_BALANCE)

        return await self.transact(work)

    async def set_blacklisted(self, account_id: int, mobile: str, listed: bool) -> None:
        """Put ``mobile`` on (or take it off) the account's blacklist."""
        sql = (
            "INSERT INTO account_blacklist (account_id, mobile) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING"
            if listed
            else "DELETE FROM account_blacklist WHERE account_id = $1 AND mobile = $2"
        )
        await self._write_and_bump(sql, account_id, mobile)

    async def set_policy_entry(self, kind: str, value: str, present: bool) -> None:
        """Add or remove one server-wide entry (deny_ip, blacklist, sensitive_word)."""
        if kind not in POLICY_KINDS:
            raise StoreError(f"unknown policy kind {kind!r}")
        sql = (
            "INSERT INTO policy_entries (kind, value) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            if present
            else "DELETE FROM policy_entries WHERE kind = $1 AND value = $2"
        )
        await self._write_and_bump(sql, kind, value)

    async def record_audit(
        self, *, account_id: int | None, kind: str, detail: str, now: float
    ) -> None:
        async def work(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO audit_events (account_id, kind, detail, created_at) "
                "VALUES ($1, $2, $3, $4)",
                account_id,
                kind,
                detail,
                now,
            )

        await self.transact(work)

    async def _write_and_bump(self, sql: str, *args: Any) -> None:
        async def work(tx: Tx) -> None:
            await tx.execute(sql, *args)
            await tx.execute(BUMP_POLICY)

        await self.transact(work)
