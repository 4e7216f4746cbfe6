"""Per-number caps and the rate cap in Redis: shared by every process (here: two gateways;
tests/gateway/test_redis_shared_limits.py on PostgreSQL)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from tests.gateway.harness import FIXTURE, running
from tests.redisprefix import redis_test_prefix
from voiceotp.gateway.settings import NumberCaps, Settings
from voiceotp.gateway.submit.limits import (
    CapRefusal,
    MemoryRateCap,
    RateCap,
    RedisNumberCaps,
    RedisRateCap,
    Reservation,
)
from voiceotp.protocol import Code, Method, parse_result
from voiceotp.store import Store

REDIS_URL = "redis://127.0.0.1:6379/0"
NOW = float(FIXTURE["now"])
pytestmark = pytest.mark.redis


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as exc:
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"Redis not available: {exc}")
    name = f"voiceotp-test-{uuid.uuid4().hex}:"
    yield name
    keys = [k async for k in client.scan_iter(match=name + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_redis_caps_windows_and_release(prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    caps = RedisNumberCaps(client, prefix)
    limits = NumberCaps(per_minute=1, per_hour=2, per_24h=3)
    first = await caps.reserve(1, "13800138000", NOW, limits)
    assert isinstance(first, Reservation)
    assert await caps.reserve(1, "13800138000", NOW + 1, limits) == CapRefusal(
        Code.NUMBER_MINUTE_CAP, 1
    )
    await caps.release(first)
    assert isinstance(await caps.reserve(1, "13800138000", NOW + 2, limits), Reservation)
    assert isinstance(await caps.reserve(1, "13800138000", NOW + 70, limits), Reservation)
    assert await caps.reserve(1, "13800138000", NOW + 140, limits) == CapRefusal(
        Code.NUMBER_HOUR_CAP, 2
    )
    assert isinstance(await caps.reserve(2, "13800138000", NOW + 140, limits), Reservation)
    await client.aclose()


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_two_gateways_share_caps(store: Store, settings: Settings, prefix: str) -> None:
    shared = dataclasses.replace(settings, redis_url=REDIS_URL, redis_prefix=prefix)
    form = {
        "account": "V10000001",
        "password": "0123456789abcdef0123456789abcdef",
        "mobile": "13800138000",
        "content": "1125",
    }
    # Both start before any call exists, so only Redis can tell the second about the first.
    async with (
        running(store, shared, now=NOW) as one,
        running(store, shared, now=NOW + 1, seed=False) as two,
    ):
        first = await one.submit(**form)
        assert parse_result(first.content, Method.SUBMIT).code == Code.OK
        again = await two.submit(**form)
        assert parse_result(again.content, Method.SUBMIT).code == Code.NUMBER_MINUTE_CAP


@pytest.fixture(params=["memory", "redis"])
async def rate_cap(request: pytest.FixtureRequest) -> AsyncIterator[RateCap]:
    """Both rate caps pass the same test (Redis: under a test prefix)."""
    if request.param == "memory":
        yield MemoryRateCap()
        return
    with redis_test_prefix("rate") as name:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        yield RedisRateCap(client, name)
        await client.aclose()


async def test_rate_cap_token_bucket(rate_cap: RateCap) -> None:
    assert [await rate_cap.allow(1, 3, NOW) for _ in range(4)] == [True, True, True, False]
    assert await rate_cap.allow(2, 3, NOW)  # another account has its own bucket
    assert await rate_cap.allow(1, 0, NOW)  # 0 = no cap
    # A third of a second later one token has come back, not more.
    assert [await rate_cap.allow(1, 3, NOW + 0.34) for _ in range(2)] == [True, False]
    assert not await rate_cap.allow(1, 3, NOW + 0.2)  # a clock that lags refills nothing
    # A bucket is never fuller than its rate, however long it was idle.
    assert [await rate_cap.allow(1, 3, NOW + 60) for _ in range(4)] == [True, True, True, False]
