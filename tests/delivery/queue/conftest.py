"""Queue backends for the one contract suite: in memory, Redis Streams on 127.0.0.1, and
the store's ``calls`` table (StoreQueue on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.delivery.audio.helpers import pcm_wav, tone
from tests.delivery.queue.fakes import FakeClock
from tests.delivery.queue.rowqueue import RowJobs
from tests.delivery.queue.sqlstores import (  # noqa: F401 - fixtures
    add_account,
    db_settings,
    open_store,
    sql_settings,
    sql_store,
)
from voiceotp.delivery.audio import CLIP_NAMES, PromptLibrary
from voiceotp.delivery.queue import MemoryQueue, Queue
from voiceotp.delivery.queue.redis import RedisQueue
from voiceotp.delivery.queue.store import StoreQueue
from voiceotp.gateway.settings import Settings

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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "not_for_store_queue(reason): a contract case StoreQueue breaks by design"
    )


QUEUE_KINDS = [
    "memory",
    "redis",
    "store-sqlite",
    pytest.param("store-postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=QUEUE_KINDS)
def queue_kind(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Settings | None]:
    """The backend, and for StoreQueue settings on a fresh database (made here: the
    PostgreSQL fixtures run their own event loop, so not from an async fixture)."""
    kind: str = request.param
    if not kind.startswith("store-"):
        return kind, None
    exempt = request.node.get_closest_marker("not_for_store_queue")
    if exempt is not None:
        pytest.skip(f"StoreQueue by design: {exempt.args[0]}")
    return kind, sql_settings(request, kind.removeprefix("store-"), tmp_path)


@pytest.fixture
async def queue(queue_kind: tuple[str, Settings | None], clock: FakeClock) -> AsyncIterator[Queue]:
    kind, settings = queue_kind
    if kind == "memory":
        yield MemoryQueue(clock=clock, sleep=clock.sleep)
        return
    if settings is not None:
        async for store in open_store(settings):
            account_id = await add_account(store, settings)
            yield RowJobs(StoreQueue(store, clock=clock), account_id)
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
