"""Exactly one success when Checks of one code race from two gateway processes (two
stores on one database, each with its own batcher), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from voiceotp.gateway.settings import Settings
from voiceotp.store import Acceptance, AcceptStatus, Store, make_store
from voiceotp.store.checks import CheckBatcher, CheckQuery
from voiceotp.store.records import VerifySeal
from voiceotp.store.verify import CheckVerdict

NOW = 1_700_000_000.0
MOBILE = "13800138000"


async def test_two_processes_one_success(store: Store, settings: Settings) -> None:
    other = make_store(settings)  # a second gateway process on the same database
    await store.open()
    await other.open()
    try:
        account = await store.create_account(name="V50000001", apikey_enc="x", now=NOW, balance=5)
        seal = VerifySeal("00" * 16, "ab" * 32, "sealed", NOW + 300, 5)
        item = Acceptance(account.id, MOBILE, "", NOW, NOW + 300, verify=seal)
        assert (await store.accept(item)).status is AcceptStatus.ACCEPTED

        def right(_: object) -> bool:
            return True

        query = CheckQuery(account.id, MOBILE, None, NOW + 1, right)
        batchers = (CheckBatcher(store), CheckBatcher(other))
        verdicts = await asyncio.gather(*(batchers[i % 2].check(query) for i in range(200)))
        found = [v for v, _ in verdicts]
        assert found.count(CheckVerdict.VERIFIED) == 1
        assert set(found) == {CheckVerdict.VERIFIED, CheckVerdict.NO_PENDING}
    finally:
        await other.close()
        await store.close()
