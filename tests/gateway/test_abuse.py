"""Abuse auto-freeze: the detectors alone, then end to end (408, audit, operator clears)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from tests.gateway.harness import FIXTURE, Harness, running
from tests.redisprefix import redis_test_prefix
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.abuse import AbuseCounts, AbuseDetector, AbuseLimits, MemoryAbuseCounts
from voiceotp.gateway.submit.abuseredis import RedisAbuseCounts, RedisWrongCodes
from voiceotp.gateway.submit.verify import MemoryWrongCodes, WrongCodes
from voiceotp.protocol import Code, Method, parse_result
from voiceotp.store import Store

NOW = float(FIXTURE["now"])
OFF = AbuseLimits(distinct_numbers=0, prefix_burst=0, failure_ratio=0.0)
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def counts(request: pytest.FixtureRequest) -> AsyncIterator[AbuseCounts]:
    """Every backend of the detectors' counts passes the same tests."""
    if request.param == "memory":
        yield MemoryAbuseCounts()
        return
    with redis_test_prefix("abuse") as prefix:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        yield RedisAbuseCounts(client, prefix)
        await client.aclose()


class Recorder:
    def __init__(self) -> None:
        self.fired: list[tuple[int, str]] = []

    async def __call__(self, account_id: int, detector: str, detail: str) -> None:
        self.fired.append((account_id, detector))


async def test_distinct_numbers_in_a_window(counts: AbuseCounts) -> None:
    freeze = Recorder()
    limits = dataclasses.replace(OFF, distinct_numbers=3, distinct_window_s=60)
    detector = AbuseDetector(limits, freeze, counts)
    for i in range(3):
        await detector.accepted(1, f"1380000000{i}", NOW + i)
    await detector.accepted(1, "13800000000", NOW + 3)  # a repeat is not a new number
    assert freeze.fired == []
    await detector.accepted(2, "13800000009", NOW + 3)  # another account
    await detector.accepted(1, "13800000009", NOW + 70)  # the first ones left the window
    assert freeze.fired == []
    for i in range(3):
        await detector.accepted(1, f"1390000000{i}", NOW + 71)
    assert freeze.fired == [(1, "distinct_numbers")]


async def test_prefix_burst(counts: AbuseCounts) -> None:
    freeze = Recorder()
    limits = dataclasses.replace(OFF, prefix_burst=2, prefix_window_s=60)
    detector = AbuseDetector(limits, freeze, counts)
    await detector.accepted(1, "13800001111", NOW)
    await detector.accepted(1, "13800002222", NOW)
    await detector.accepted(1, "13900003333", NOW)  # other prefix
    assert freeze.fired == []
    await detector.accepted(1, "13800003333", NOW + 1)
    assert freeze.fired == [(1, "prefix_burst")]


async def test_failure_ratio(counts: AbuseCounts) -> None:
    freeze = Recorder()
    limits = dataclasses.replace(OFF, failure_ratio=0.5, failure_min_calls=4)
    detector = AbuseDetector(limits, freeze, counts)
    for connected in (False, False, True):
        await detector.call_finished(7, connected)
    assert freeze.fired == []
    await detector.call_finished(7, False)
    assert freeze.fired == [(7, "failure_ratio")]


async def test_switched_off_detectors_never_fire(counts: AbuseCounts) -> None:
    freeze = Recorder()
    detector = AbuseDetector(OFF, freeze, counts)
    for i in range(500):
        await detector.accepted(1, f"138{i:08d}", NOW)
        await detector.call_finished(1, False)
    assert freeze.fired == []


async def test_counting_starts_afresh_after_a_freeze(counts: AbuseCounts) -> None:
    freeze = Recorder()
    limits = dataclasses.replace(OFF, distinct_numbers=2, prefix_burst=2)
    detector = AbuseDetector(limits, freeze, counts)
    await detector.accepted(1, "13800001111", NOW)  # counted toward both lines
    for mobile in ("13900001111", "13700001111"):
        await detector.accepted(1, mobile, NOW)
    assert freeze.fired == [(1, "distinct_numbers")]
    # The prefix 1380000 had one Submit before the freeze: forgotten with the rest.
    for i in range(2):
        await detector.accepted(1, f"138000022{i}2", NOW + 1)
    assert freeze.fired == [(1, "distinct_numbers")]


@pytest.mark.redis
async def test_shared_counts_trip_once_for_two_processes_racing_past_the_line() -> None:
    """Two processes (own clients) feed one account's counts at once: the line is crossed
    once, and only one of them freezes the account (one audit event)."""
    limits = dataclasses.replace(OFF, prefix_burst=5, failure_ratio=0.5, failure_min_calls=6)
    freeze = Recorder()
    with redis_test_prefix("abuse-race") as prefix:
        clients = [redis.asyncio.Redis.from_url(REDIS_URL) for _ in range(2)]
        one, other = (AbuseDetector(limits, freeze, RedisAbuseCounts(c, prefix)) for c in clients)
        await asyncio.gather(
            *(d.accepted(1, f"1380013{i:04d}", NOW) for i, d in enumerate([one, other] * 4))
        )
        await asyncio.gather(*(d.call_finished(2, False) for d in [one, other] * 4))
        for client in clients:
            await client.aclose()
    assert sorted(freeze.fired) == [(1, "prefix_burst"), (2, "failure_ratio")]


async def test_freeze_answers_408_until_an_operator_clears_it(
    store: Store, settings: Settings
) -> None:
    strict = dataclasses.replace(settings, abuse_distinct_numbers=3)
    async with running(store, strict, now=NOW) as harness:
        key = "0123456789abcdef0123456789abcdef"

        async def submit(mobile: str) -> int:
            form = {"account": "V10000001", "password": key, "mobile": mobile, "content": "1125"}
            response = await harness.submit(**form)
            return parse_result(response.content, Method.SUBMIT).code

        codes = [await submit(f"1380000000{i}") for i in range(5)]
        assert codes == [2, 2, 2, 2, Code.ABUSE_FROZEN]  # the 4th crossed the line
        account = await store.get_account("V10000001")
        assert account is not None
        assert account.state == "abuse_frozen"
        events = await store.audit_events(account.id)
        assert [e.kind for e in events][-1] == "abuse_freeze"
        assert events[-1].detail.startswith("distinct_numbers")
        await harness.gateway.admin.set_state("V10000001", "active")
        assert await submit("13800000009") == Code.OK


# ---- issue 10: defaults that fit real traffic, an account's allowance, the log ------------
KEY = "0123456789abcdef0123456789abcdef"  # V10000001's APIKEY in the fixture


async def submit_code(harness: Harness, mobile: str) -> int:
    form = {"account": "V10000001", "password": KEY, "mobile": mobile, "content": "1125"}
    response = await harness.submit(**form)
    return parse_result(response.content, Method.SUBMIT).code


async def test_an_ordinary_batch_to_one_prefix_passes_the_default_limits(
    store: Store, settings: Settings
) -> None:
    """200 customers in a company's own range (one 7-digit prefix) froze the account at
    the old default (100 in 60 s)."""
    async with running(store, settings, now=NOW) as harness:
        await harness.gateway.admin.top_up("V10000001", 1000)
        codes = [await submit_code(harness, f"1380013{i:04d}") for i in range(200)]
        assert set(codes) == {Code.OK}
        account = await store.get_account("V10000001")
        assert account is not None
        assert account.state == "active"


async def test_an_accounts_allowance_replaces_the_server_thresholds(
    store: Store, settings: Settings
) -> None:
    strict = dataclasses.replace(settings, abuse_prefix_burst=3, abuse_distinct_numbers=4)
    async with running(store, strict, now=NOW) as harness:
        admin = harness.gateway.admin
        await admin.top_up("V10000001", 1000)
        # Its own range: 10 to one prefix, and 10 distinct numbers, are fine for it.
        await admin.configure("V10000001", abuse_prefix_burst=10, abuse_distinct_numbers=0)
        described = await admin.describe("V10000001")
        assert (described["abuse_prefix_burst"], described["abuse_distinct_numbers"]) == (10, 0)
        codes = [await submit_code(harness, f"1380013{i:04d}") for i in range(11)]
        assert codes == [Code.OK] * 11  # the 11th crossed the account's own line
        assert await submit_code(harness, "13800139999") == Code.ABUSE_FROZEN
        await admin.configure("V10000001", abuse_prefix_burst=None)  # the server's again
        assert (await admin.describe("V10000001"))["abuse_prefix_burst"] is None


async def test_a_freeze_is_logged_by_apiid_with_the_way_to_clear_it(
    store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    strict = dataclasses.replace(settings, abuse_prefix_burst=2)
    async with running(store, strict, now=NOW) as harness:
        with caplog.at_level(logging.WARNING, logger="voiceotp.gateway"):
            codes = [await submit_code(harness, f"1380013{i:04d}") for i in range(4)]
        assert codes == [Code.OK, Code.OK, Code.OK, Code.ABUSE_FROZEN]
        account = await store.get_account("V10000001")
        assert account is not None
    frozen = [r.getMessage() for r in caplog.records if "froze" in r.getMessage()]
    assert len(frozen) == 1
    assert "prefix_burst froze account V10000001" in frozen[0]
    assert "voiceotp admin clear-abuse V10000001" in frozen[0]
    assert f"account id {account.id}" not in frozen[0]
    assert "13800130002" not in frozen[0]  # never a full number


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def wrong_codes(request: pytest.FixtureRequest) -> AsyncIterator[WrongCodes]:
    """Check's wrong codes per account (4505): both backends pass the same test."""
    if request.param == "memory":
        yield MemoryWrongCodes()
        return
    with redis_test_prefix("wrong") as prefix:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        yield RedisWrongCodes(client, prefix)
        await client.aclose()


async def test_wrong_codes_count_in_a_sliding_window(wrong_codes: WrongCodes) -> None:
    for at in (NOW, NOW + 10, NOW + 20):
        await wrong_codes.add(1, at, 60)
    await wrong_codes.add(2, NOW, 60)  # another account
    assert await wrong_codes.count(1, NOW + 20, 60) == 3
    assert await wrong_codes.count(1, NOW + 65, 60) == 2  # the first left the window
    assert await wrong_codes.count(1, NOW + 200, 60) == 0
    assert await wrong_codes.count(3, NOW, 60) == 0
