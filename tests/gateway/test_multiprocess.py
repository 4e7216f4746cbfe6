"""Several gateway processes on one PostgreSQL database (two stores in one test process:
separate pools, writers and voiceid blocks — what separate processes have)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.gateway.harness import fixture_settings
from tests.stores import reset_postgres
from voiceotp.store import Acceptance, AcceptStatus, make_store

NOW = 1_700_000_000.0
pytestmark = pytest.mark.postgres


async def test_two_writers_share_one_balance_and_one_key_space(pg_url: str, tmp_path: Path) -> None:
    await reset_postgres(pg_url)
    settings = fixture_settings(tmp_path, database_url=pg_url)
    one, two = make_store(settings), make_store(settings)
    await one.open()
    await two.open()
    try:
        account = await one.create_account(name="V40000001", apikey_enc="x", now=NOW, balance=50)

        def item(i: int, key: str | None = None) -> Acceptance:
            return Acceptance(account.id, f"1380000{i:04d}", "1125", NOW, NOW + 300, key)

        outcomes = await asyncio.gather(
            *(store.accept(item(i)) for i in range(100) for store in (one, two))
        )
        accepted = [o.voiceid for o in outcomes if o.status is AcceptStatus.ACCEPTED]
        assert len(accepted) == 50
        assert len(set(accepted)) == 50  # voiceid blocks never overlap
        assert await one.get_balance(account.id) == 0

        await one.adjust_balance(account.id, 5, "topup", NOW)
        keyed = await asyncio.gather(*(s.accept(item(0, key="k")) for s in (one, two, one, two)))
        assert len({o.voiceid for o in keyed}) == 1
        assert [o.status for o in keyed].count(AcceptStatus.ACCEPTED) == 1
        assert await two.get_balance(account.id) == 4
        assert await two.consistency_problems() == []
    finally:
        await one.close()
        await two.close()
