"""What delivery (and anything else above the store) may use of a Store: ``transact``,
``row_lock`` and ``voiceid_number`` — public, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from voiceotp.store import Store
from voiceotp.store.postgres import PostgresStore
from voiceotp.store.rows import Tx
from voiceotp.store.voiceids import voiceid_number

NOW = 1_700_000_000.0


@pytest.fixture
async def opened(store: Store) -> AsyncIterator[Store]:
    await store.open()
    yield store
    await store.close()


async def test_transact_commits_what_work_returns(opened: Store) -> None:
    account = await opened.create_account(name="T1", apikey_enc="sealed", now=NOW, balance=3)

    async def work(tx: Tx) -> int:
        await tx.execute("UPDATE accounts SET rate_per_s = 7 WHERE id = $1", account.id)
        row = await tx.fetchrow("SELECT rate_per_s FROM accounts WHERE id = $1", account.id)
        assert row is not None
        return int(row[0])

    assert await opened.transact(work) == 7
    assert (await opened.read("SELECT rate_per_s FROM accounts"))[0][0] == 7


async def test_transact_rolls_back_when_work_raises(opened: Store) -> None:
    account = await opened.create_account(name="T1", apikey_enc="sealed", now=NOW, balance=3)

    async def work(tx: Tx) -> None:
        await tx.execute("UPDATE accounts SET balance = 0 WHERE id = $1", account.id)
        raise LookupError("changed my mind")

    with pytest.raises(LookupError):
        await opened.transact(work)
    assert await opened.get_balance(account.id) == 3


async def test_row_lock_is_a_clause_on_postgres_and_nothing_on_sqlite(opened: Store) -> None:
    expected = " FOR UPDATE SKIP LOCKED" if isinstance(opened, PostgresStore) else ""
    assert opened.row_lock("FOR UPDATE SKIP LOCKED") == expected
    account = await opened.create_account(name="T1", apikey_enc="sealed", now=NOW)
    sql = "SELECT name FROM accounts WHERE id = $1" + opened.row_lock("FOR UPDATE")

    async def work(tx: Tx) -> object:
        row = await tx.fetchrow(sql, account.id)
        return None if row is None else row[0]

    assert await opened.transact(work) == "T1"  # the clause is valid SQL on the backend


@pytest.mark.parametrize(
    ("voiceid", "number"),
    [
        ("1", 1),
        ("0042", 42),
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),  # beyond BIGINT: never an id we gave
        ("9" * 19, None),
        ("9" * 20, None),
        ("", None),
        ("abc", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("１２３", None),  # full-width digits: isdigit() but not ASCII
        ("1" * 5000, None),
    ],
)
def test_voiceid_number(voiceid: str, number: int | None) -> None:
    assert voiceid_number(voiceid) == number
