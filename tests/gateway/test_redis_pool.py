"""The API process's Redis client under more Submits in flight than its pool has
connections (HAProxy lets 500 reach one process): they wait for a connection, where
redis-py's default pool of 100 raised MaxConnectionsError on the per-number caps."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.delivery.queue.conftest import REDIS_URL, redis_or_skip
from tests.gateway.harness import FIXTURE, fixture_settings
from voiceotp.gateway.settings import NumberCaps
from voiceotp.gateway.submit.limits import Reservation
from voiceotp.gateway.submit.shared import make_shared_limits

pytestmark = pytest.mark.redis


async def test_caps_wait_for_a_connection_beyond_the_pool(tmp_path: Path) -> None:
    probe = await redis_or_skip()
    prefix = f"voiceotp-test-{uuid.uuid4().hex}:"
    settings = fixture_settings(tmp_path, redis_url=REDIS_URL, redis_prefix=prefix)
    shared = make_shared_limits(settings)
    caps, client = shared.caps, shared.client
    assert caps is not None
    now, limits = float(FIXTURE["now"]), NumberCaps()
    try:
        found = await asyncio.gather(
            *(caps.reserve(1, f"1380013{i:04d}", now, limits) for i in range(400))
        )
    finally:
        await client.aclose()
        keys = [k async for k in probe.scan_iter(match=prefix + "*")]
        if keys:
            await probe.delete(*keys)
        await probe.aclose()
    assert all(isinstance(r, Reservation) for r in found)
