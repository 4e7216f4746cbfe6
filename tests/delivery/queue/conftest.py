"""Queue backends for the one contract suite: in memory, and Redis Streams on 127.0.0.1."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.delivery.audio.helpers import pcm_wav, tone
from tests.delivery.queue.fakes import FakeClock
from tests.delivery.queue.sqlstores import db_settings, sql_store  # noqa: F401 - fixtures
from voiceotp.delivery.audio import CLIP_NAMES, PromptLibrary
from voiceotp.delivery.queue import MemoryQueue, Queue
from voiceotp.delivery.queue.redis import RedisQueue

REDIS_URL = os.environ.get("VOICEOTP_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def redis_or_skip() -> Redis:
    """A Redis client; skips when Redis is absent, except under CI=true where it fails."""
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisConnectionError, OSError) as exc:
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return client


@pytest.fixture(params=["memory", "redis"])
async def queue(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Queue]:
    if request.param == "memory":
        yield MemoryQueue(clock=clock, sleep=clock.sleep)
        return
    client = await redis_or_skip()
    prefix = f"voiceotp-test:{uuid.uuid4().hex}"
    backend = RedisQueue(client, prefix=prefix, group="g", clock=clock)
    await backend.setup()
    try:
        yield backend
    finally:
        await client.delete(backend.stream, backend.delayed, backend.dead)
        await backend.aclose()


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> PromptLibrary:
    """Recorded clips (tones) so no test needs espeak-ng."""
    folder = tmp_path_factory.mktemp("clips")
    for i, name in enumerate(CLIP_NAMES):
        (folder / f"{name}.wav").write_bytes(pcm_wav(tone(300 + 40 * i, 8000, 0.05), 8000))
    library = PromptLibrary(directories={"zh": folder}, cache_dir=folder)
    library.warm(["zh"])
    return library
