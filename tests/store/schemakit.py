"""Looking at a migrated database's schema (SQLite or PostgreSQL) from a migration test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from voiceotp.store.migrate import alembic_url

T = TypeVar("T")


def inspect_with(url: str, look: Callable[[sa.Connection], T]) -> T:
    """``look(connection)`` on the database at ``url`` (an async engine for PostgreSQL)."""
    url = alembic_url(url)
    if url.startswith("postgresql+asyncpg"):
        return asyncio.run(_look_async(url, look))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return look(conn)
    finally:
        engine.dispose()


async def _look_async(url: str, look: Callable[[sa.Connection], T]) -> T:
    engine = create_async_engine(url, poolclass=sa.pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(look)
    finally:
        await engine.dispose()
