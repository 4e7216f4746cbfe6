"""A PostgreSQL connection cut during COMMIT: the answer follows what the store holds.

The old group commit took any COMMIT failure for a rollback and answered code 0 for calls
that were stored and charged; a retrying client then rang its user twice."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.gateway.harness import fixture_settings
from tests.stores import reset_postgres
from voiceotp.store import Acceptance, AcceptStatus, make_store
from voiceotp.store.postgres import PostgresStore, asyncpg_dsn

NOW = 1_700_000_000.0
pytestmark = pytest.mark.postgres


async def terminate(dsn: str, pid: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


class CutAfterCommit(PostgresStore):
    """COMMIT reaches the server and succeeds; the connection dies before its answer."""

    async def _commit(self, tx: Any) -> None:
        await tx.commit()
        await terminate(self._dsn, tx._connection.get_server_pid())
        raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle")


class CutBeforeCommit(PostgresStore):
    """The connection dies before COMMIT is sent: the transaction rolls back."""

    async def _commit(self, tx: Any) -> None:
        await terminate(self._dsn, tx._connection.get_server_pid())
        await tx.commit()


class DiesAsGivenBack(PostgresStore):
    """COMMIT succeeds and is answered; the connection then dies as it goes back to the
    pool (its reset fails), as when it is cut right after the COMMIT under load."""

    async def _give_back(self, conn: Any) -> None:
        await super()._give_back(conn)  # asyncpg drops a connection whose reset failed
        raise asyncpg.InternalClientError(
            "cannot switch to state 15; another operation (2) is in progress"
        )


async def accept_through(kind: type[PostgresStore], pg_url: str, tmp_path: Path) -> Any:
    await reset_postgres(pg_url)
    settings = fixture_settings(tmp_path, database_url=pg_url)
    plain = make_store(settings)
    store = kind(pg_url, id_key=b"k" * 32)
    await plain.open()
    await store.open()
    try:
        account = await plain.create_account(name="V40000001", apikey_enc="x", now=NOW, balance=5)
        items = [Acceptance(account.id, f"1380000000{i}", "1125", NOW, NOW + 300) for i in range(3)]
        outcomes = await asyncio.gather(*(store.accept(i) for i in items), return_exceptions=True)
        rows = await plain.read("SELECT voiceid FROM calls WHERE account_id = $1", account.id)
        balance = await plain.get_balance(account.id)
        return outcomes, sorted(str(r[0]) for r in rows), balance
    finally:
        await store.close()
        await plain.close()


async def test_a_commit_whose_answer_was_lost_answers_what_was_stored(
    pg_url: str, tmp_path: Path
) -> None:
    outcomes, stored, balance = await accept_through(CutAfterCommit, pg_url, tmp_path)
    assert all(not isinstance(o, BaseException) for o in outcomes), outcomes
    assert {o.status for o in outcomes} == {AcceptStatus.ACCEPTED}
    assert sorted(o.voiceid for o in outcomes) == stored  # code 2, with the stored voiceids
    assert len(stored) == 3
    assert balance == 2


async def test_a_commit_that_never_happened_is_an_error_and_stores_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    outcomes, stored, balance = await accept_through(CutBeforeCommit, pg_url, tmp_path)
    assert all(isinstance(o, BaseException) for o in outcomes)  # code 0: provably not stored
    assert stored == []
    assert balance == 5


def test_the_dsn_helper_accepts_every_spelling() -> None:
    assert asyncpg_dsn("postgres://u@h/d") == asyncpg_dsn("postgresql+asyncpg://u@h/d")


async def test_an_unreachable_store_leaves_the_outcome_unknown() -> None:
    from voiceotp.store.pgcommit import commit_outcome

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    dsn = "postgresql://postgres@127.0.0.1:1/none"  # nothing listens on port 1
    assert await commit_outcome(dsn, 12345, [1, 2], tries=3, sleep=sleep) is None
    assert waits == [0.05, 0.1, 0.2]


async def test_a_connection_that_dies_after_a_commit_does_not_undo_its_answer(
    pg_url: str, tmp_path: Path
) -> None:
    """Found by the fault suite: code 0 for calls stored and charged."""
    outcomes, stored, balance = await accept_through(DiesAsGivenBack, pg_url, tmp_path)
    assert all(not isinstance(o, BaseException) for o in outcomes), outcomes
    assert sorted(o.voiceid for o in outcomes) == stored
    assert len(stored) == 3
    assert balance == 2
