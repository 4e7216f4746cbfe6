"""``voiceotp serve --workers N``: N API processes on one port (PostgreSQL + Redis), one of
them dialing; refused on SQLite; a dead worker is started again; SIGTERM stops all, exit 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from tests.cli.test_serve_delivery import free_port, wait_listening
from tests.delivery.queue.conftest import REDIS_URL
from tests.gateway.harness import fixture_settings
from tests.integration.helpers import NewKey, new_account, tone_clips
from tests.redisprefix import redis_test_prefix
from tests.stores import postgres_database
from voiceotp.cli.serve import serve
from voiceotp.client import AsyncClient

SRC = Path(__file__).parents[2] / "src"


def test_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        serve, ["--dev", "--data-dir", str(tmp_path), "--workers", "2"], env=_no_redis()
    )
    assert result.exit_code == 1
    assert "--workers 2 needs PostgreSQL" in result.output
    assert not list(tmp_path.iterdir())  # refused before anything was made


def test_workers_without_redis_are_refused(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/none"  # never reached: refused before
    args = ["--dev", "--database-url", url, "--workers", "3"]
    result = CliRunner().invoke(serve, args, env=_no_redis())
    assert result.exit_code == 1
    assert "--workers 3 needs Redis" in result.output


def _no_redis() -> dict[str, str | None]:
    return {"VOICEOTP_REDIS_URL": None, "VOICEOTP_ALLOW_UNSHARED_CAPS": None}


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_database("voiceotp_workers") as url:
        yield url


@pytest.fixture
def redis_prefix(tmp_path: Path) -> Iterator[str]:
    with redis_test_prefix(f"workers-{tmp_path.name}") as prefix:
        yield prefix


def children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


async def until_workers(pid: int, count: int, besides: frozenset[int] = frozenset()) -> set[int]:
    """The supervisor's workers, once there are ``count`` of them (and none of ``besides``)."""
    for _ in range(600):
        found = children(pid)
        if len(found) == count and not found & besides:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"workers of {pid}: {children(pid)}")


async def one_submit(url: str, key: NewKey, mobile: str) -> str:
    """A Submit on a connection of its own (a kept-alive one would stay with one worker)."""
    async with AsyncClient(key.account, key.apikey, base_url=url) as client:
        result = await client.send(mobile, "1125")
    assert result.voiceid
    return result.voiceid


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(120)
async def test_workers_share_the_port_restart_and_stop_on_sigterm(
    database: str, tmp_path: Path, redis_prefix: str
) -> None:
    key = await new_account(fixture_settings(tmp_path, database_url=database), balance=20)
    delivery = {
        "prompt_dir": str(tone_clips(tmp_path / "clips")),
        "prompt_cache_dir": str(tmp_path / "cache"),
        "prompt_repeat": 1,
        "simulation": {"ring_after_s": 0.01, "answer_after_s": 0.01},
    }
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DATA_DIR": str(tmp_path),
        "VOICEOTP_DATABASE_URL": database,
        "VOICEOTP_REDIS_URL": REDIS_URL,
        "VOICEOTP_REDIS_PREFIX": redis_prefix,
        "VOICEOTP_DELIVERY": json.dumps(delivery),
    }
    port = free_port()
    args = ["serve", "--port", str(port), "--no-access-log", "--workers", "2"]
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "voiceotp", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/webservice/voice.php"
    try:
        await wait_listening(port, server)
        first, second = sorted(await until_workers(server.pid, 2))
        ids = []
        # Each worker answers alone while the other is stopped: both serve the port.
        for frozen in (first, second):
            os.kill(frozen, signal.SIGSTOP)
            try:
                ids.append(await one_submit(url, key, f"1380013800{len(ids)}"))
            finally:
                os.kill(frozen, signal.SIGCONT)
        os.kill(first, signal.SIGKILL)  # a dead worker is started again
        replaced = await until_workers(server.pid, 2, besides=frozenset({first}))
        assert second in replaced
        os.kill(second, signal.SIGSTOP)  # so the new worker must answer this one
        try:
            ids.append(await one_submit(url, key, "13800138009"))
        finally:
            os.kill(second, signal.SIGCONT)
        # Only worker 0 dials (the first, then its replacement): worker 1 never reads jobs.
        consumers = redis.Redis.from_url(REDIS_URL).xinfo_consumers(
            f"{redis_prefix}delivery:jobs", "dialers"
        )
        dialing = {int(c["name"].decode().rsplit("-", 1)[1]) for c in consumers}
        assert dialing, "no worker reads the jobs"
        assert dialing <= {first, *replaced} - {second}
        server.send_signal(signal.SIGTERM)
        code = server.wait(60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert code == 0, output
    assert len(set(ids)) == 3
    assert "2 API workers on port" in output
    assert f"worker 0 (pid {first}) exited with status -9" in output
    assert "worker 0 started again" in output
    for pid in replaced:
        assert not Path(f"/proc/{pid}").exists()
