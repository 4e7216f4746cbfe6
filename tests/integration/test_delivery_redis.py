"""Scale-out delivery: jobs through Redis Streams; a call whose job never reached the
queue (crash between accept and enqueue) is found by the sweep and dialed once."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from tests.delivery.queue.conftest import REDIS_URL, redis_or_skip
from tests.gateway.harness import fixture_settings
from tests.integration.helpers import new_account, tone_clips
from voiceotp.delivery.config import DeliverySettings, SimulationSettings
from voiceotp.delivery.queue.redis import RedisQueue
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.store import Acceptance, make_store

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


async def test_jobs_go_through_redis_and_lost_ones_are_swept_back(tmp_path: Path) -> None:
    await (await redis_or_skip()).aclose()
    prefix = f"voiceotp-test:{uuid.uuid4().hex}:"
    delivery = DeliverySettings(
        prompt_dir=tone_clips(tmp_path / "clips"),
        prompt_cache_dir=tmp_path / "cache",
        prompt_repeat=1,
        poll_s=0.1,
        sweep_every_s=0.1,
        requeue_after_s=0.5,
        simulation=SimulationSettings(ring_after_s=0.01, answer_after_s=0.01),
    )
    settings = fixture_settings(
        tmp_path, delivery=delivery, redis_url=REDIS_URL, redis_prefix=prefix
    )
    key = await new_account(settings)
    store = make_store(settings)
    await store.open()
    runtime = DeliveryRuntime(settings, store, run_notifier=False)
    try:
        await runtime.start()
        assert isinstance(runtime.queue, RedisQueue)
        account = await store.get_account(key.account)
        assert account is not None
        now = time.time()
        enqueued = await store.accept(Acceptance(account.id, "13800138000", "1125", now, now + 60))
        await runtime.accepted(enqueued.voiceid, now + 60)
        lost = await store.accept(Acceptance(account.id, "13800138001", "1126", now, now + 60))
        for _ in range(300):
            calls = [await store.get_call(o.voiceid) for o in (enqueued, lost)]
            if all(c is not None and c.state == "ANSWERED" for c in calls):
                break
            await asyncio.sleep(0.05)
        assert [c.state for c in calls if c] == ["ANSWERED", "ANSWERED"]
        heard = sorted(p.stem for p in (tmp_path / "calls").glob("*.wav"))
        assert heard == sorted([enqueued.voiceid, lost.voiceid])
        assert [len(await runtime.fence.attempts(o.voiceid)) for o in (enqueued, lost)] == [1, 1]
    finally:
        queue = runtime.queue
        assert isinstance(queue, RedisQueue)
        await queue.redis.delete(queue.stream, queue.delayed, queue.dead)
        await runtime.stop()
        await store.close()


async def test_a_burst_beyond_the_redis_pool_waits_for_connections(tmp_path: Path) -> None:
    """400 accepted calls handed to the queue at once, as an API process with that many
    Submits in flight does: each is enqueued (redis-py's default pool of 100 raised
    MaxConnectionsError for the rest, leaving them to the sweep)."""
    await (await redis_or_skip()).aclose()
    prefix = f"voiceotp-test:{uuid.uuid4().hex}:"
    settings = fixture_settings(tmp_path, redis_url=REDIS_URL, redis_prefix=prefix)
    store = make_store(settings)
    await store.open()
    runtime = DeliveryRuntime(settings, store, run_dialer=False, run_notifier=False)
    try:
        await runtime.start()
        queue = runtime.queue
        assert isinstance(queue, RedisQueue)
        deadline = time.time() + 60
        await asyncio.gather(*(runtime.accepted(str(10_000 + i), deadline) for i in range(400)))
        assert await queue.redis.xlen(queue.stream) == 400
    finally:
        queue = runtime.queue
        assert isinstance(queue, RedisQueue)
        await queue.redis.delete(queue.stream, queue.delayed, queue.dead)
        await runtime.stop()
        await store.close()
