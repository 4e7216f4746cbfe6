"""Stores for the tests (gateway, delivery, store): SQLite (a migrated template copied per test) and
PostgreSQL (one database per test session, truncated per test)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.gateway.harness import fixture_settings
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store, make_store
from voiceotp.store.migrate import upgrade

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TABLES = (
    "accounts, account_blacklist, policy_entries, calls, ledger, audit_events, "
    "call_attempts, outbox, verifications, fraud_overrides, web_audit, web_signin_failures, "
    "web_sessions, web_users, push_attempts, signups, certifications, notice_templates, "
    "template_recordings"
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@contextlib.contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own (created, dropped after); fails under CI=true and
    skips elsewhere when PostgreSQL is not there."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        _pg_unavailable(str(exc))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgres_database("voiceotp_gw") as url:
        upgrade(url)
        yield url


async def reset_postgres(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
        await conn.execute("UPDATE counters SET value = 0 WHERE name = 'voiceid_seq'")
        await conn.execute("UPDATE counters SET value = 1 WHERE name = 'policy_version'")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Settings:
    """Settings of the fixture on a fresh database of each kind."""
    if request.param == "sqlite":
        db = tmp_path / "gateway.db"
        shutil.copy(sqlite_template, db)
        return fixture_settings(tmp_path, database_url=f"sqlite:///{db}")
    url = request.getfixturevalue("pg_url")
    asyncio.run(reset_postgres(url))
    return fixture_settings(tmp_path, database_url=url)


@pytest.fixture
def store(settings: Settings) -> Store:
    """An unopened store on the fresh database (tests open it, or the app does)."""
    return make_store(settings)
