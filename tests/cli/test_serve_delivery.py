"""`voiceotp serve` runs API, dialer worker and status push in one process by default."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway.harness import fixture_settings
from tests.integration.helpers import new_account, tone_clips
from voiceotp.client import AsyncClient

pytestmark = pytest.mark.timeout(90)
SRC = Path(__file__).parents[2] / "src"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        assert server.poll() is None, "voiceotp serve exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError("voiceotp serve did not listen")


async def test_serve_dials_accepted_calls_with_the_simulated_carrier(tmp_path: Path) -> None:
    delivery = {
        "prompt_dir": str(tone_clips(tmp_path / "clips")),
        "prompt_cache_dir": str(tmp_path / "cache"),
        "prompt_repeat": 1,
        "poll_s": 0.1,
        "simulation": {"ring_after_s": 0.05, "answer_after_s": 0.05},
    }
    settings = fixture_settings(tmp_path)  # dev mode, SQLite in tmp_path
    key = await new_account(settings)
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DATA_DIR": str(tmp_path),
        "VOICEOTP_DELIVERY": json.dumps(delivery),
    }
    port = free_port()
    args = [sys.executable, "-m", "voiceotp", "serve", "--port", str(port), "--no-access-log"]
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/webservice/voice.php"
    try:
        await wait_listening(port, server)
        async with AsyncClient(key.account, key.apikey, base_url=url) as client:
            voiceid = (await client.send("13800138000", "1125")).voiceid
            assert voiceid is not None
            for _ in range(300):
                status = (await client.query(voiceid)).status
                if status not in ("QUEUED", "DIALING"):
                    break
                await asyncio.sleep(0.05)
    finally:
        server.terminate()
        code = server.wait(30)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert status == "ANSWERED", output
    assert code == 0, output  # a clean SIGTERM stop (uvicorn would re-raise it: -15)
    assert "Application shutdown complete" in output
    assert (tmp_path / "calls" / f"{voiceid}.wav").exists()
