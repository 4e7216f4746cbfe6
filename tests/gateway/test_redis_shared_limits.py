"""The account rate cap (4090) and the abuse detectors across API processes (issue 16):
two gateways on one PostgreSQL and one Redis count together. Before, each process
counted alone: an account got its rate once per process, and a detector never fired
for traffic split between processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from tests.gateway.harness import FIXTURE, Harness, fixture_settings, running
from tests.gateway.test_redis_caps import prefix
from tests.gateway.verifykit import check, spoken, verify, wrong
from tests.stores import reset_postgres
from voiceotp.gateway.settings import NumberCaps
from voiceotp.gateway.submit.verifyconf import VerifySettings
from voiceotp.protocol import Code, Method, parse_result
from voiceotp.store import make_store

__all__ = ["prefix"]
pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(60)]
NOW = float(FIXTURE["now"])
ACCOUNT, APIKEY = "V10000001", "0123456789abcdef0123456789abcdef"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def make_pair(pg_url: str, tmp_path: Path, prefix: str) -> Any:
    """Two gateways (own stores, pools and counters) on one PostgreSQL and one Redis,
    with the given settings."""

    @contextlib.asynccontextmanager
    async def pair(**overrides: Any) -> AsyncIterator[tuple[Harness, Harness]]:
        await reset_postgres(pg_url)
        settings = fixture_settings(
            tmp_path,
            database_url=pg_url,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            **{"caps": NumberCaps(0, 0, 0), **overrides},
        )
        first, second = make_store(settings), make_store(settings)
        async with (
            running(first, settings, now=NOW) as one,
            running(second, settings, now=NOW, seed=False) as other,
        ):
            await one.gateway.admin.top_up(ACCOUNT, 1000)
            yield one, other

    return pair


async def submit(harness: Harness, mobile: str) -> int:
    form = {"account": ACCOUNT, "password": APIKEY, "mobile": mobile, "content": "1125"}
    return parse_result((await harness.submit(**form)).content, Method.SUBMIT).code


async def split_load(one: Harness, other: Harness, mobiles: list[str]) -> list[int]:
    """All at once, alternately to the two processes."""
    sends = [submit(one if i % 2 == 0 else other, m) for i, m in enumerate(mobiles)]
    return list(await asyncio.gather(*sends))


async def test_the_rate_cap_is_exact_across_two_processes(make_pair: Any) -> None:
    async with make_pair(account_rate_per_s=10) as (one, other):
        # The clock stands still: no refill, so exactly 10 in total may pass.
        codes = await split_load(one, other, [f"1380000{i:04d}" for i in range(60)])
        assert codes.count(Code.OK) == 10, codes
        assert codes.count(Code.RATE_LIMITED) == 50
        assert await one.store.count_calls() == 10
        one.clock_value[0] = other.clock_value[0] = NOW + 0.5  # half a second: 5 more
        later = await split_load(one, other, [f"1390000{i:04d}" for i in range(20)])
        assert later.count(Code.OK) == 5, later


async def test_an_abuse_detector_trips_on_traffic_split_across_processes(make_pair: Any) -> None:
    async with make_pair(abuse_prefix_burst=5, abuse_distinct_numbers=0) as (one, other):
        # 8 to one 7-digit prefix, 4 to each process: the 6th crosses the line of 5.
        codes = await split_load(one, other, [f"1380013{i:04d}" for i in range(8)])
        assert codes.count(Code.OK) >= 6  # those past the freeze check when it fired: all, mostly
        assert set(codes) <= {Code.OK, Code.ABUSE_FROZEN}
        account = await one.store.get_account(ACCOUNT)
        assert account is not None
        assert account.state == "abuse_frozen"
        events = [e for e in await one.store.audit_events(account.id) if e.kind == "abuse_freeze"]
        assert len(events) == 1, [e.detail for e in events]  # one process saw it cross
        assert events[0].detail.startswith("prefix_burst: 6 to 1380013xxxx")
        one.gateway.directory.forget(ACCOUNT)
        other.gateway.directory.forget(ACCOUNT)
        assert [await submit(h, "13900000000") for h in (one, other)] == [Code.ABUSE_FROZEN] * 2


async def test_distinct_numbers_are_counted_once_whichever_process_saw_them(
    make_pair: Any,
) -> None:
    async with make_pair(abuse_distinct_numbers=4, abuse_prefix_burst=0) as (one, other):
        # The same 4 numbers to both processes: 4 distinct, not 8.
        mobiles = [f"13{i}00000000" for i in range(4)]
        assert await split_load(one, other, mobiles * 2) == [Code.OK] * 8
        account = await one.store.get_account(ACCOUNT)
        assert account is not None
        assert account.state == "active"
        assert await submit(other, "13900000009") == Code.OK  # the 5th distinct one
        account = await one.store.get_account(ACCOUNT)
        assert account is not None
        assert account.state == "abuse_frozen"


async def test_wrong_codes_per_account_are_counted_across_processes(make_pair: Any) -> None:
    """Check's per-account guess limit (4505): 2 wrong codes on each process make 4."""
    async with make_pair(verify=VerifySettings(wrong_per_account=4)) as (one, other):
        codes = {}
        for harness, mobile in ((one, "13800000001"), (other, "13800000002")):
            sent = await verify(harness, mobile)
            codes[mobile] = await spoken(harness, sent.voiceid)
        for harness, mobile in ((one, "13800000001"), (other, "13800000002")):
            for _ in range(2):
                guess = wrong(codes[mobile])
                assert (await check(harness, guess, mobile)).code == Code.CODE_WRONG
        right = await check(one, codes["13800000001"], "13800000001")
        assert right.code == Code.CHECK_THROTTLED
        one.clock_value[0] = other.clock_value[0] = NOW + 3600  # the window has passed
        fresh = await spoken(other, (await verify(other, "13800000003")).voiceid)
        assert (await check(one, fresh, "13800000003")).code == Code.OK


async def test_every_shared_key_is_under_the_prefix_and_expires(
    make_pair: Any, prefix: str
) -> None:
    """Nothing the shared limits write stays in Redis for ever, and all of it is named by
    the deployment's redis_prefix (so deployments sharing a Redis never meet)."""
    limits = {"account_rate_per_s": 100, "caps": NumberCaps(5, 10, 20), "abuse_failure_ratio": 0.9}
    async with make_pair(verify=VerifySettings(wrong_per_account=50), **limits) as (one, other):
        await split_load(one, other, [f"1380013{i:04d}" for i in range(4)])
        sent = await verify(one, "13900000001")
        code = await spoken(one, sent.voiceid)
        assert (await check(other, wrong(code), "13900000001")).code == Code.CODE_WRONG
        await other.gateway.abuse.call_finished(1, connected=False)
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [k.decode() async for k in client.scan_iter(match=f"{prefix}*")]
        families = {
            k[len(prefix) :].split(":")[0] + ":" + k[len(prefix) :].split(":")[1] for k in keys
        }
        ttls = {k: await client.ttl(k) for k in keys}
    finally:
        await client.aclose()
    expected = {"caps:1", "rate:1", "abuse:n", "abuse:p", "abuse:ps", "abuse:f", "wrong:1"}
    assert expected <= families, families
    assert all(ttl > 0 for ttl in ttls.values()), ttls
