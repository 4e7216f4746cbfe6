"""Persistence of the gateway: one :class:`Store` interface, SQLite and PostgreSQL.

Delivery's seam: accepted Submits are ``calls`` rows in state ``queued``;
:class:`~voiceotp.gateway.store.fence.SqlFence` moves them to ``dialing`` for exactly one
attempt and records the outcome (refunding the held unit when the charge policy says so).
"""

from __future__ import annotations

import hashlib

from voiceotp.gateway.settings import POSTGRES_PREFIXES, Settings
from voiceotp.gateway.store.base import Store, StoreError
from voiceotp.gateway.store.records import (
    Acceptance,
    AcceptOutcome,
    AcceptStatus,
    AccountRecord,
    AuditEvent,
    CallRecord,
    KeyUse,
    StoreUnavailable,
    refund_due,
)

__all__ = [
    "AcceptOutcome",
    "AcceptStatus",
    "Acceptance",
    "AccountRecord",
    "AuditEvent",
    "CallRecord",
    "KeyUse",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "is_postgres_url",
    "make_store",
    "refund_due",
]


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_PREFIXES)


def make_store(settings: Settings) -> Store:
    """The store the settings name (not yet opened; migrate first)."""
    url = settings.effective_database_url
    id_key = hashlib.sha256(b"voiceid:" + settings.secret_key.encode()).digest()
    if is_postgres_url(url):
        from voiceotp.gateway.store.postgres import PostgresStore

        return PostgresStore(url, id_key=id_key, batch_max=settings.batch_max)
    from voiceotp.gateway.store.sqlite import SQLiteStore, sqlite_path

    return SQLiteStore(
        sqlite_path(url),
        id_key=id_key,
        batch_max=settings.batch_max,
        synchronous=settings.sqlite_synchronous,
    )
