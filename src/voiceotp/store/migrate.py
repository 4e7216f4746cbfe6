"""Apply Alembic migrations (at start, or by ``voiceotp db upgrade``)."""

from __future__ import annotations

import asyncio
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

    A SQLite file's folder is created first: a first start must not need a manual mkdir.
    """
    if database_url.startswith("sqlite"):
        from voiceotp.store.sqlite import sqlite_path

        sqlite_path(database_url).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """:func:`upgrade` from a running event loop (Alembic's async env runs its own loop).

    StoreUnavailable when the database cannot be reached or opened: the first thing every
    process does with the store, so that is where "check --database-url" is decided."""
    try:
        await asyncio.to_thread(upgrade, database_url, revision)
    except Exception as exc:
        if not _unreachable(exc):
            raise
        text = str(getattr(exc, "orig", None) or exc).strip()  # the driver's own words
        raise StoreUnavailable(text.splitlines()[0] if text else type(exc).__name__) from exc


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
