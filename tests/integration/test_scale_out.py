"""Scale-out: `voiceotp serve --no-delivery` (API only) and a separate `voiceotp dialer`,
sharing PostgreSQL and Redis Streams. Accepted calls reach the dialer through Redis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.cli.test_serve_delivery import free_port, wait_listening
from tests.delivery.queue.conftest import REDIS_URL
from tests.delivery.queue.sqlstores import sql_settings
from tests.gateway.harness import fixture_settings
from tests.integration.helpers import new_account, tone_clips
from tests.redisprefix import redis_test_prefix
from voiceotp.client import AsyncClient

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(90)]
SRC = Path(__file__).parents[2] / "src"


@pytest.fixture
def pg_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sql_settings(request, "postgres", tmp_path).database_url


@pytest.fixture
def redis_prefix(tmp_path: Path) -> Iterator[str]:
    with redis_test_prefix(f"scale-{tmp_path.name}") as prefix:
        yield prefix


async def test_api_and_dialer_processes_share_jobs_through_redis(
    tmp_path: Path, pg_database: str, redis_prefix: str
) -> None:
    delivery = {
        "prompt_dir": str(tone_clips(tmp_path / "clips")),
        "prompt_cache_dir": str(tmp_path / "cache"),
        "prompt_repeat": 1,
        "poll_s": 0.1,
        "simulation": {
            "ring_after_s": 0.05,
            "answer_after_s": 0.05,
            "dial_log": str(tmp_path / "dials.log"),
        },
    }
    key = await new_account(fixture_settings(tmp_path, database_url=pg_database))
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DATA_DIR": str(tmp_path),
        "VOICEOTP_DATABASE_URL": pg_database,
        "VOICEOTP_REDIS_URL": REDIS_URL,
        "VOICEOTP_REDIS_PREFIX": redis_prefix,
        "VOICEOTP_DELIVERY": json.dumps(delivery),
    }
    port = free_port()
    python = [sys.executable, "-m", "voiceotp"]
    log = (tmp_path / "processes.log").open("wb")
    api = subprocess.Popen(
        [*python, "serve", "--port", str(port), "--no-access-log", "--no-delivery"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    metrics_port = free_port()
    dialer = subprocess.Popen(
        [*python, "dialer", "--name", "d1", "--metrics-port", str(metrics_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/webservice/voice.php"
    try:
        await wait_listening(port, api)
        async with AsyncClient(key.account, key.apikey, base_url=url) as client:
            mobiles = [f"1380013800{i}" for i in range(3)]
            ids = [(await client.send(m, "1125")).voiceid for m in mobiles]
            for _ in range(300):
                statuses = [(await client.query(v)).status for v in ids if v]
                if all(s not in ("QUEUED", "DIALING") for s in statuses):
                    break
                await asyncio.sleep(0.05)
        await wait_listening(metrics_port, dialer)
        scraped = await scrape(f"http://127.0.0.1:{metrics_port}/metrics")
    finally:
        for process in (api, dialer):
            process.terminate()
        codes = [process.wait(30) for process in (api, dialer)]
        log.close()
    output = (tmp_path / "processes.log").read_text()
    assert statuses == ["ANSWERED"] * 3, output
    assert sorted((tmp_path / "dials.log").read_text().split()) == sorted(ids)  # type: ignore[type-var]
    assert codes[1] == 0, output  # the dialer stops cleanly on SIGTERM
    # The dialer process serves its own metrics: the calls it ended, the store's backlog.
    assert 'voiceotp_calls_finished_total{status="ANSWERED"} 3.0' in scraped
    assert "voiceotp_calls_queued 0.0" in scraped


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.text()
