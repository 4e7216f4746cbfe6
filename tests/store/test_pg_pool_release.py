"""Connections go back to the PostgreSQL store's pool without asyncpg's reset query (one
round trip per release saved), yet a connection given back inside a transaction is still
rolled back before anyone else gets it."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.stores import reset_postgres
from voiceotp.store.postgres import PostgresStore, asyncpg_dsn

pytestmark = pytest.mark.postgres


async def test_a_connection_given_back_mid_transaction_is_rolled_back(pg_url: str) -> None:
    await reset_postgres(pg_url)
    store = PostgresStore(pg_url, id_key=b"k" * 32, pool_size=2)
    await store.open()
    try:
        cancelled = asyncio.Event()

        async def left_open() -> None:  # a task cancelled between BEGIN and COMMIT
            async with store._connection() as conn:
                tx = conn.transaction()
                await tx.start()
                await conn.execute("UPDATE counters SET value = -7 WHERE name = 'voiceid_seq'")
                cancelled.set()
                await asyncio.sleep(3600)

        task = asyncio.create_task(left_open())
        await cancelled.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(4):  # both pooled connections, each in turn
            async with store._connection() as a, store._connection() as b:
                for conn in (a, b):
                    assert not conn.is_in_transaction()
                    value = await conn.fetchval(
                        "SELECT value FROM counters WHERE name = 'voiceid_seq'"
                    )
                    assert value != -7
    finally:
        await store.close()


async def test_released_connections_send_no_reset_query(pg_url: str) -> None:
    store = PostgresStore(pg_url, id_key=b"k" * 32, pool_size=2)
    await store.open()
    watcher = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        async with store._connection() as conn:
            await conn.execute("SELECT 'the last statement'")
            server_pid = conn.get_server_pid()
        await asyncio.sleep(0)  # the release has run (it is awaited in the exit above)
        last = await watcher.fetchval(
            "SELECT query FROM pg_stat_activity WHERE pid = $1", server_pid
        )
        assert last == "SELECT 'the last statement'"  # asyncpg's default: its RESET ALL
    finally:
        await watcher.close()
        await store.close()
