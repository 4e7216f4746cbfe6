"""A Redis key prefix of one test on the shared Redis (skipped without it, failed under
CI=true), whose keys are deleted afterwards."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
import redis

from tests.delivery.queue.conftest import REDIS_URL


@contextlib.contextmanager
def redis_test_prefix(name: str) -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except (redis.ConnectionError, OSError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    prefix = f"voiceotp-test-{name}-{os.getpid()}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
