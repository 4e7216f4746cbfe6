"""The engine over the real AsyncClient and FakeIhuyi's in-memory transport."""

from __future__ import annotations

from collections.abc import Callable

from tests.client.batch.conftest import numbers
from voiceotp.client import AsyncClient, RetryPolicy
from voiceotp.client.batch import BatchOptions, Journal, State, UnknownPolicy, run_batch
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

MakeJournal = Callable[..., Journal]
ONE_TRY = RetryPolicy.never()


def client_for(fake: FakeIhuyi, *, dedupes: bool) -> AsyncClient:
    return AsyncClient(
        DEFAULT_ACCOUNT,
        DEFAULT_APIKEY,
        base_url="http://fake.invalid/webservice/voice.php",
        transport=fake.async_transport(),
        retry=ONE_TRY,
        server_dedupes=dedupes,
    )


async def test_lost_answers_are_unknown_then_replayed_to_the_original_call(
    make_journal: MakeJournal,
) -> None:
    fake = FakeIhuyi(dedupe=True)
    mobiles = numbers(6)
    fake.lose_responses(mobiles[1])
    fake.script(mobiles[4], 4030)
    journal = make_journal([(m, None) for m in mobiles], code_length=5)
    async with client_for(fake, dedupes=False) as client:
        summary = await run_batch(journal, client, BatchOptions(concurrency=3))
    assert summary.counts[State.UNKNOWN] == 1
    assert summary.counts[State.FAILED] == 1
    async with client_for(fake, dedupes=True) as client:
        options = BatchOptions(unknown=UnknownPolicy.REPLAY)
        summary = await run_batch(journal, client, options)
    assert summary.counts[State.SENT] == 5
    assert fake.submits == {m: 1 for m in mobiles if m != mobiles[4]}
    by_mobile = {r.mobile: r for r in journal.records()}
    assert {c.mobile: c.voiceid for c in fake.calls} == {
        m: by_mobile[m].voiceid for m in mobiles if m != mobiles[4]
    }
    assert all(len(c.content) == 5 for c in fake.calls)


async def test_frozen_account_stops_before_the_rest(make_journal: MakeJournal) -> None:
    fake = FakeIhuyi()
    fake.accounts[DEFAULT_ACCOUNT].frozen = True
    journal = make_journal([(m, "1234") for m in numbers(5)])
    async with client_for(fake, dedupes=False) as client:
        summary = await run_batch(journal, client, BatchOptions(concurrency=1))
    assert summary.stopped is not None
    assert summary.stopped.code == 4050
    assert summary.counts[State.PENDING] == 5
    assert sum(fake.received.values()) == 1
