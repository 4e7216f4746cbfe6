"""Apply Alembic migrations (at start, or by ``voiceotp db upgrade``)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from alembic import command
from alembic.config import Config

from voiceotp.store.records import StoreUnavailable

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_url(database_url: str) -> str:
    """Our database URL as SQLAlchemy spells it (driver made explicit)."""
    if database_url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + database_url.split("://", 1)[1]
    return database_url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", alembic_url(database_url))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (blocking; safe to call at every start).

    A SQLite file is created in its folder, but no folder is: which folders a command may
    create is the command's decision (``voiceotp serve`` makes its default data dir)."""
    command.upgrade(alembic_config(database_url), revision)


async def current_revision(database_url: str) -> str | None:
    """The schema revision of the store at ``database_url``; None when there is no
    voiceotp schema there (a missing SQLite file, an empty database). Creates nothing.
    StoreUnavailable when the database cannot be reached or opened."""
    try:
        if database_url.startswith("sqlite"):
            return await asyncio.to_thread(_sqlite_revision, database_url)
        return await _postgres_revision(database_url)
    except Exception as exc:
        if not _unreachable(exc):
            raise
        raise _unavailable(exc) from exc


def _sqlite_revision(database_url: str) -> str | None:
    import sqlite3
    from urllib.request import pathname2url

    from voiceotp.store.urls import sqlite_path

    path = sqlite_path(database_url)
    if not path.is_file():
        return None
    # Read-only: opening must not create the file (a plain connect would).
    with contextlib.closing(
        sqlite3.connect(f"file:{pathname2url(str(path))}?mode=ro", uri=True)
    ) as conn:
        if not conn.execute(_SQLITE_HAS_VERSION).fetchall():
            return None
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return str(rows[0][0]) if rows else None


_SQLITE_HAS_VERSION = (
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
)


async def _postgres_revision(database_url: str) -> str | None:
    import asyncpg

    from voiceotp.store.postgres import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        if await conn.fetchval("SELECT to_regclass('alembic_version')") is None:
            return None
        found = await conn.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await conn.close()
    return None if found is None else str(found)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """:func:`upgrade` from a running event loop (Alembic's async env runs its own loop).

    StoreUnavailable when the database cannot be reached or opened: the first thing every
    process does with the store, so that is where "check --database-url" is decided."""
    try:
        await asyncio.to_thread(upgrade, database_url, revision)
    except Exception as exc:
        if not _unreachable(exc):
            raise
        raise _unavailable(exc) from exc


def _unavailable(exc: BaseException) -> StoreUnavailable:
    text = str(getattr(exc, "orig", None) or exc).strip()  # the driver's own words
    return StoreUnavailable(text.splitlines()[0] if text else type(exc).__name__)


def _unreachable(exc: BaseException) -> bool:
    import sqlite3

    import sqlalchemy.exc

    kinds: list[type[BaseException]] = [OSError, sqlite3.Error, sqlalchemy.exc.DBAPIError]
    try:
        import asyncpg

        kinds += [asyncpg.PostgresError, asyncpg.InterfaceError]
    except ImportError:  # pragma: no cover - only with the postgres extra
        pass
    return isinstance(exc, tuple(kinds))
