"""Persistence shared by the API, delivery and the web faces: one :class:`Store`
interface, SQLite and PostgreSQL. Imports no stage above it.

Delivery's seam: accepted Submits are ``calls`` rows in state ``queued``;
:class:`~voiceotp.delivery.fence.SqlFence` moves them to ``dialing`` for exactly one
attempt and records the outcome (refunding the held unit when the charge policy says so).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from voiceotp.store.base import Store, StoreError
from voiceotp.store.records import (
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
from voiceotp.store.urls import POSTGRES_PREFIXES, SQLITE_PREFIX, is_postgres_url, sqlite_path

__all__ = [
    "POSTGRES_PREFIXES",
    "SQLITE_PREFIX",
    "AcceptOutcome",
    "AcceptStatus",
    "Acceptance",
    "AccountRecord",
    "AuditEvent",
    "CallRecord",
    "KeyUse",
    "Store",
    "StoreError",
    "StoreSettings",
    "StoreUnavailable",
    "is_postgres_url",
    "make_store",
    "refund_due",
    "sqlite_path",
]


class StoreSettings(Protocol):
    """What :func:`make_store` reads of the settings (the gateway's ``Settings`` has it)."""

    @property
    def effective_database_url(self) -> str: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def batch_max(self) -> int: ...
    @property
    def sqlite_synchronous(self) -> str: ...


def make_store(settings: StoreSettings) -> Store:
    """The store the settings name (not yet opened; migrate first)."""
    url = settings.effective_database_url
    id_key = hashlib.sha256(b"voiceid:" + settings.secret_key.encode()).digest()
    if is_postgres_url(url):
        from voiceotp.store.postgres import PostgresStore

        return PostgresStore(url, id_key=id_key, batch_max=settings.batch_max)
    from voiceotp.store.sqlite import SQLiteStore

    return SQLiteStore(
        sqlite_path(url),
        id_key=id_key,
        batch_max=settings.batch_max,
        synchronous=settings.sqlite_synchronous,
    )
