"""Opened SQL stores (SQLite, PostgreSQL) with one account, and calls inserted with chosen
voiceids, for the delivery contract suites."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.harness import fixture_settings
from tests.stores import reset_postgres
from voiceotp.delivery.queue import CallTicket
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store, make_store
from voiceotp.store.keys import KeyBox
from voiceotp.store.rows import Tx, adjust_in

NOW = 1_700_000_000.0
APIKEY = "0123456789abcdef0123456789abcdef"
SQL_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def sql_settings(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Settings:
    """Settings on a fresh database of ``kind`` (call from a sync fixture: the PostgreSQL
    session fixture runs its own event loop)."""
    if kind == "sqlite":
        db = tmp_path / "delivery.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), db)
        return fixture_settings(tmp_path, database_url=f"sqlite:///{db}")
    url = request.getfixturevalue("pg_url")
    asyncio.run(reset_postgres(url))
    return fixture_settings(tmp_path, database_url=url)


@pytest.fixture(params=SQL_KINDS)
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on a fresh SQLite or PostgreSQL database."""
    return sql_settings(request, request.param, tmp_path)


@pytest.fixture
async def sql_store(db_settings: Settings) -> AsyncIterator[Store]:
    """An opened store on ``db_settings``."""
    async for store in open_store(db_settings):
        yield store


async def open_store(settings: Settings) -> AsyncIterator[Store]:
    store = make_store(settings)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def add_account(
    store: Store, settings: Settings, *, name: str = "V1", balance: int = 10, callback: str = ""
) -> int:
    sealed = KeyBox(settings.secret_key).seal(APIKEY)
    account = await store.create_account(name=name, apikey_enc=sealed, now=NOW, balance=balance)
    if callback:
        await store.update_account(name, callback_url=callback)
    return account.id


async def add_call(
    store: Store,
    ticket: CallTicket,
    *,
    account_id: int,
    created_at: float = NOW,
    deadline: float = NOW + 300,
) -> None:
    """A freshly accepted call (state queued, one unit held) with voiceid ``ticket.call_id``."""

    async def work(tx: Tx) -> None:
        await tx.execute(
            "INSERT INTO calls (voiceid, account_id, mobile, content, state, created_at, "
            "deadline, attempts, sip_code, answer_time, end_time, duration) "
            "VALUES ($1, $2, $3, $4, 'queued', $5, $6, 0, 0, 0, 0, 0)",
            int(ticket.call_id),
            account_id,
            ticket.mobile,
            ticket.code,
            created_at,
            deadline,
        )
        await adjust_in(tx, account_id, -1, "hold", created_at, voiceid=int(ticket.call_id))

    await store.transact(work)
