"""`voiceotp dialer`'s failure-ratio counts in Redis survive a burst of calls ending at
once: its Redis client waits for a pooled connection (as every other Redis client of the
project does since the pool fix) instead of raising MaxConnectionsError past 100 in
flight, which lost those calls' counts (the detector then undercounted failures)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.delivery.queue.conftest import REDIS_URL
from tests.gateway.harness import fixture_settings
from tests.redisprefix import redis_test_prefix
from voiceotp.cli.dialer import failure_detector

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


async def test_a_burst_of_call_endings_is_counted_whole(tmp_path: Path) -> None:
    with redis_test_prefix("dialer-burst") as prefix:
        settings = fixture_settings(
            tmp_path,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            abuse_failure_ratio=0.5,
            abuse_failure_min_calls=1_000_000,  # counts only: nobody is frozen here
        )
        detector, client = failure_detector(settings, store=None)
        try:
            await asyncio.gather(*(detector.call_finished(7, False) for _ in range(400)))
            counts = await client.hgetall(f"{prefix}abuse:f:7")
            assert {k.decode(): int(v) for k, v in counts.items()} == {
                "calls": 400,
                "failed": 400,
            }
        finally:
            await client.aclose()
