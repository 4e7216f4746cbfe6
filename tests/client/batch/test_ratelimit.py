from __future__ import annotations

import asyncio

import pytest

from tests.clock import FakeClock
from voiceotp.client.batch.ratelimit import AdaptiveRate, TokenBucket


async def test_bucket_paces_to_the_rate_after_the_burst() -> None:
    clock = FakeClock(0.0)
    bucket = TokenBucket(10, burst=5, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        await bucket.acquire()
    assert clock.now == 0  # the burst is free
    for _ in range(20):
        await bucket.acquire()
    assert clock.now == pytest.approx(2.0)  # 20 more tokens at 10/s


async def test_unlimited_bucket_never_waits() -> None:
    clock = FakeClock(0.0)
    bucket = TokenBucket(None, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        await bucket.acquire()
    assert clock.now == 0


async def test_concurrent_acquirers_share_the_rate() -> None:
    clock = FakeClock(0.0)
    bucket = TokenBucket(100, burst=1, clock=clock, sleep=clock.sleep)
    await asyncio.gather(*(bucket.acquire() for _ in range(51)))
    assert clock.now == pytest.approx(0.5, rel=0.05)


def test_bucket_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


def test_slow_down_halves_once_per_cooldown_and_speed_up_returns_to_the_ceiling() -> None:
    clock = FakeClock(0.0)
    rate = AdaptiveRate(100, clock=clock, sleep=clock.sleep, cooldown_s=1.0)
    rate.slow_down()
    rate.slow_down()  # same burst of refusals
    assert rate.rate == 50
    clock.now = 1.5
    rate.slow_down()
    assert rate.rate == 25
    assert rate.slowdowns == 2
    for _ in range(100):
        rate.speed_up()
    assert rate.rate == 100  # never above the ceiling


def test_slow_down_never_goes_below_the_floor() -> None:
    clock = FakeClock(0.0)
    rate = AdaptiveRate(4, clock=clock, sleep=clock.sleep, min_rate=1.0, cooldown_s=0)
    for _ in range(10):
        rate.slow_down()
    assert rate.rate == 1.0


async def test_unlimited_rate_limits_at_half_the_observed_rate_then_recovers() -> None:
    clock = FakeClock(0.0)
    rate = AdaptiveRate(None, clock=clock, sleep=clock.sleep)
    for i in range(11):
        clock.now = i * 0.01  # 100 requests per second
        await rate.acquire()
    rate.slow_down()
    assert rate.rate == pytest.approx(50)
    for _ in range(200):
        rate.speed_up()
    assert rate.rate is None


async def test_a_waiting_acquire_gives_up_when_told() -> None:
    clock = FakeClock(0.0)
    bucket = TokenBucket(0.1, burst=1, clock=clock, sleep=clock.sleep)
    assert await bucket.acquire()
    stop_at = 0.35

    def give_up() -> bool:
        return clock.now >= stop_at

    assert await bucket.acquire(give_up) is False
    assert clock.now < 1.0  # not the 10 s a token takes at 0.1/s


def test_try_take_takes_only_a_token_that_is_there_now() -> None:
    clock = FakeClock(0.0)
    bucket = TokenBucket(10, burst=2, clock=clock, sleep=clock.sleep)
    assert [bucket.try_take() for _ in range(3)] == [True, True, False]
    clock.now += 0.1
    assert bucket.try_take()
    assert not bucket.try_take()
    assert all(TokenBucket(None).try_take() for _ in range(100))
