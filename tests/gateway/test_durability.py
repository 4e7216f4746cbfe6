"""Code 2 means durable: SIGKILL the server right after answers, every voiceid is stored."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from voiceotp.gateway.settings import Settings
from voiceotp.protocol import Code, Method, parse_result
from voiceotp.store import make_store

SRC = str(Path(__file__).parents[2] / "src")


def start_server(data_dir: Path) -> tuple[subprocess.Popen[str], str, str, str]:
    env = {**os.environ, "PYTHONPATH": SRC, "VOICEOTP_DEV_MODE": "1", "PYTHONUNBUFFERED": "1"}
    env["VOICEOTP_ABUSE_DISTINCT_NUMBERS"] = "0"
    command = [sys.executable, "-m", "voiceotp", "serve", "--data-dir", str(data_dir)]
    process = subprocess.Popen(
        [*command, "--port", "0", "--no-access-log"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, deadline = "", time.monotonic() + 60
    while time.monotonic() < deadline and process.stdout is not None:
        line = process.stdout.readline()
        output += line
        url = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
        if url:
            account = re.search(r"APIID\s+\(account\)\s+(V\d{8})", output)
            apikey = re.search(r"APIKEY \(password\)\s+([0-9a-f]{32})", output)
            assert account is not None
            assert apikey is not None
            return process, url.group(1), account.group(1), apikey.group(1)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(output)


async def submit_many(url: str, account: str, apikey: str, n: int) -> list[str]:
    async with httpx2.AsyncClient(timeout=30) as client:

        async def one(i: int) -> str:
            form = {"account": account, "password": apikey, "mobile": f"1390000{i:04d}"}
            response = await client.post(
                f"{url}/webservice/voice.php?method=Submit", data={**form, "content": "1125"}
            )
            result = parse_result(response.content, Method.SUBMIT)
            assert result.code == Code.OK
            return str(getattr(result, "voiceid", ""))

        return list(await asyncio.gather(*(one(i) for i in range(n))))


async def stored(data_dir: Path, voiceids: list[str]) -> list[str]:
    store = make_store(Settings.load(environ={}, dev_mode=True, data_dir=data_dir))
    await store.open()
    try:
        return [v for v in voiceids if await store.get_call(v) is not None]
    finally:
        await store.close()


def test_every_answered_voiceid_survives_sigkill(tmp_path: Path) -> None:
    process, url, account, apikey = start_server(tmp_path)
    try:
        voiceids = asyncio.run(submit_many(url, account, apikey, 60))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert len(set(voiceids)) == 60
    assert asyncio.run(stored(tmp_path, voiceids)) == voiceids
