"""The API process's Redis client under more requests in flight than its pool has
connections (HAProxy lets 500 reach one process): they wait for a connection, where
redis-py's default pool of 100 raised MaxConnectionsError. The caps are batched per loop
turn (one connection for the lot), so the test drives what is not: idempotency-key claims."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.delivery.queue.conftest import REDIS_URL, redis_or_skip
from tests.gateway.harness import fixture_settings
from voiceotp.gateway.submit.shared import make_shared_limits

pytestmark = pytest.mark.redis


async def test_claims_wait_for_a_connection_beyond_the_pool(tmp_path: Path) -> None:
    probe = await redis_or_skip()
    prefix = f"voiceotp-test-{uuid.uuid4().hex}:"
    settings = fixture_settings(tmp_path, redis_url=REDIS_URL, redis_prefix=prefix)
    shared = make_shared_limits(settings)
    claims, client = shared.claims, shared.client
    assert claims is not None
    try:
        tokens = await asyncio.gather(*(claims.try_acquire(1, f"key-{i}") for i in range(400)))
    finally:
        await client.aclose()
        keys = [k async for k in probe.scan_iter(match=prefix + "*")]
        if keys:
            await probe.delete(*keys)
        await probe.aclose()
    assert all(tokens)  # 400 distinct keys: each claim taken, none lost to the pool
