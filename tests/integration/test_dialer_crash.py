"""kill -9 of a `voiceotp dialer` process with calls in flight (SQLite, PostgreSQL, or
PostgreSQL + Redis Streams; simulated carrier that rings long): after a restart no call is
dialed twice, the calls that were in flight end CANCELED, and the calls accepted meanwhile
are dialed (nothing stays queued)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.delivery.queue.conftest import REDIS_URL
from tests.delivery.queue.sqlstores import sql_settings
from tests.gateway.harness import fixture_settings
from tests.integration.helpers import new_account, tone_clips
from voiceotp.gateway.settings import Settings
from voiceotp.store import Acceptance, Store, make_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
SRC = Path(__file__).parents[2] / "src"


@dataclass(frozen=True)
class Backend:
    database_url: str
    redis_url: str = ""


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    kind: str = request.param
    if kind == "sqlite":
        return Backend(f"sqlite:///{tmp_path / 'gateway.db'}")
    url = sql_settings(request, "postgres", tmp_path).database_url
    if kind == "postgres":
        return Backend(url)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except (redis.ConnectionError, OSError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    finally:
        client.close()
    return Backend(url, REDIS_URL)


def redis_prefix(tmp_path: Path) -> str:
    return f"voiceotp-test-{tmp_path.name}-{os.getpid()}:"


def drop_redis_keys(backend: Backend, prefix: str) -> None:
    if backend.redis_url:
        client = redis.Redis.from_url(backend.redis_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def dialer_env(
    tmp_path: Path, backend: Backend, *, answer_after_s: float, ring_timeout_s: float
) -> dict[str, str]:
    delivery: dict[str, Any] = {
        "requeue_after_s": 1,  # Redis: calls accepted while no dialer ran have no job
        "poll_s": 0.1,
        "sweep_every_s": 0.3,
        "ring_timeout_s": ring_timeout_s,
        "max_duration_s": 5,
        "lease_margin_s": 1,
        "redial": {},
        "prompt_dir": str(tmp_path / "clips"),
        "prompt_cache_dir": str(tmp_path / "cache"),
        "simulation": {
            "ring_after_s": 0.1,
            "answer_after_s": answer_after_s,
            "dial_log": str(tmp_path / "dials.log"),
            "record_dir": str(tmp_path / "heard"),
        },
    }
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DATA_DIR": str(tmp_path),
        "VOICEOTP_DATABASE_URL": backend.database_url,
        "VOICEOTP_REDIS_URL": backend.redis_url,
        "VOICEOTP_REDIS_PREFIX": redis_prefix(tmp_path),
        "VOICEOTP_DELIVERY": json.dumps(delivery),
    }


def start_dialer(env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "voiceotp", "dialer", "--name", name, "--no-notifier"]
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def dials(tmp_path: Path) -> list[str]:
    path = tmp_path / "dials.log"
    return path.read_text().split() if path.exists() else []


async def accept(store: Store, account_id: int, n: int) -> list[str]:
    now = time.time()
    outcomes = [
        await store.accept(Acceptance(account_id, f"1380013{8000 + i:04d}", "1125", now, now + 300))
        for i in range(n)
    ]
    return [o.voiceid for o in outcomes]


async def until(
    check: Any, what: str, process: subprocess.Popen[bytes], timeout_s: float = 40
) -> None:
    end = time.monotonic() + timeout_s
    while not await check():
        if process.poll() is not None:
            raise AssertionError(f"the dialer exited ({process.returncode}) before {what}")
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("backend", "restart_as"),
    [
        ("sqlite", "d1"),
        ("sqlite", "d2"),
        pytest.param("postgres", "d1", marks=pytest.mark.postgres),
        pytest.param("postgres+redis", "d2", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ],
    indirect=["backend"],
)
async def test_no_call_is_dialed_twice_after_kill_9(
    tmp_path: Path, backend: Backend, restart_as: str
) -> None:
    tone_clips(tmp_path / "clips")
    settings: Settings = fixture_settings(tmp_path, database_url=backend.database_url)
    key = await new_account(settings, balance=20)
    store = make_store(settings)
    await store.open()
    log = tmp_path / "dialer.log"
    try:
        account = await store.get_account(key.account)
        assert account is not None
        in_flight = await accept(store, account.id, 4)
        # Calls ring for 2 s, then NO_ANSWER (answer_after_s is past the ring timeout).
        env = dialer_env(tmp_path, backend, answer_after_s=30, ring_timeout_s=2)
        victim = start_dialer(env, "d1", log)

        async def all_dialing() -> bool:  # claimed by the fence *and* handed to the carrier
            calls = [await store.get_call(v) for v in in_flight]
            claimed = all(c is not None and c.state == "dialing" for c in calls)
            return claimed and sorted(dials(tmp_path)) == sorted(in_flight)

        await until(all_dialing, "every call in flight", victim)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        later = await accept(store, account.id, 2)

        # Restarted: answers at once now. As "d1" it ends its own past calls at start; as
        # "d2" the sweep ends them once their lease (2 + 5 + 1 s) has run out.
        env = dialer_env(tmp_path, backend, answer_after_s=0.1, ring_timeout_s=2)
        survivor = start_dialer(env, restart_as, log)

        async def all_ended() -> bool:
            calls = [await store.get_call(v) for v in in_flight + later]
            return all(c is not None and c.state not in ("queued", "dialing") for c in calls)

        await until(all_ended, "every call to end", survivor)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(20) == 0, log.read_text()

        assert sorted(dials(tmp_path)) == sorted(in_flight + later)  # each dialed exactly once
        states = {v: (await store.get_call(v)).state for v in in_flight + later}  # type: ignore[union-attr]
        assert states == {
            **dict.fromkeys(in_flight, "CANCELED"),
            **dict.fromkeys(later, "ANSWERED"),
        }
        assert sorted(p.stem for p in (tmp_path / "heard").glob("*.wav")) == sorted(later)
        assert await store.consistency_problems() == []
    finally:
        await store.close()
        drop_redis_keys(backend, redis_prefix(tmp_path))
