"""`voiceotp serve` as operators run it: a taken port, the live access log, the banner."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import httpx2
import pytest

from tests.gateway.harness import fixture_settings
from tests.integration.helpers import new_account, tone_clips
from voiceotp.store import Acceptance, make_store

pytestmark = pytest.mark.timeout(90)
SRC = Path(__file__).parents[2] / "src"


def serve_env(tmp_path: Path) -> dict[str, str]:
    """Dev mode, SQLite in tmp_path, calls that ring long (a worker would hold them)."""
    delivery = {
        "prompt_dir": str(tone_clips(tmp_path / "clips")),
        "prompt_cache_dir": str(tmp_path / "cache"),
        "poll_s": 0.1,
        "stop_grace_s": 0.5,
        "simulation": {
            "ring_after_s": 0.05,
            "answer_after_s": 20,
            "dial_log": str(tmp_path / "dials.log"),
        },
    }
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "PYTHONUNBUFFERED": "1",
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DATA_DIR": str(tmp_path),
        "VOICEOTP_DELIVERY": json.dumps(delivery),
    }


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "voiceotp", "serve", *args]


def run_voiceotp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``voiceotp ARGS`` to its end (it is expected to exit by itself), output captured."""
    command = [sys.executable, "-m", "voiceotp", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


async def test_a_taken_port_ends_serve_before_any_call_is_claimed(tmp_path: Path) -> None:
    settings = fixture_settings(tmp_path)
    key = await new_account(settings, balance=10)
    store = make_store(settings)
    await store.open()
    try:
        account = await store.get_account(key.account)
        assert account is not None
        now = time.time()
        mobiles = [f"1380013800{i}" for i in range(5)]
        queued = [
            (await store.accept(Acceptance(account.id, m, "1125", now, now + 300))).voiceid
            for m in mobiles
        ]
        with socket.socket() as taken:  # another server holds the port
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = str(taken.getsockname()[1])
            result = subprocess.run(
                serve_command("--port", port),
                env=serve_env(tmp_path),
                capture_output=True,
                text=True,
                timeout=60,
            )
        calls = [await store.get_call(v) for v in queued]
    finally:
        await store.close()
    output = result.stdout + result.stderr
    assert [c.state if c else None for c in calls] == ["queued"] * 5, output
    assert not (tmp_path / "dials.log").exists()
    assert "Application startup complete" not in output
    assert result.returncode == 3, output
    assert "address already in use" in result.stderr.lower(), output
    assert f"127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr  # says what to do next


def lines_of(stream: IO[str]) -> queue.Queue[str]:
    """The lines of a process's stream, read in a thread (a pipe read blocks)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def next_matching(lines: queue.Queue[str], needle: str, seen: list[str]) -> str:
    while True:  # the test's timeout bounds this
        line = lines.get(timeout=60)
        seen.append(line)
        if needle in line:
            return line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(base: str, server: subprocess.Popen[str]) -> None:
    while True:  # the test's timeout bounds this
        assert server.poll() is None, "voiceotp serve exited"
        try:
            if httpx2.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)


Serving = tuple[subprocess.Popen[str], str, "queue.Queue[str]", "queue.Queue[str]"]


@pytest.fixture
async def serving(tmp_path: Path) -> AsyncIterator[Serving]:
    """`voiceotp serve` (a store with an account) and its stdout and stderr lines."""
    await new_account(fixture_settings(tmp_path))  # not empty: no demo account
    port = free_port()
    server = subprocess.Popen(
        serve_command("--port", str(port)),
        env=serve_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server)
        assert server.stdout is not None
        assert server.stderr is not None
        yield server, base, lines_of(server.stdout), lines_of(server.stderr)
    finally:
        server.terminate()
        server.wait(30)


async def test_serve_writes_the_access_log_while_it_runs(serving: Serving) -> None:
    server, base, _, err = serving
    answer = httpx2.get(f"{base}/webservice/voice.php?method=GetNum&account=V00000000")
    assert answer.status_code == 200
    line = next_matching(err, "GetNum", [])
    assert server.poll() is None  # written while the server still runs, not at its exit
    assert "account=V00000000" in line


async def test_serve_prints_a_banner_on_a_store_with_accounts(
    serving: Serving, tmp_path: Path
) -> None:
    _, base, out, _ = serving
    stdout: list[str] = []
    next_matching(out, "WARNING: development mode", stdout)
    banner = "".join(stdout)
    assert f"running on {base}" in banner
    assert f"endpoint   {base}/webservice/voice.php" in banner
    assert f"admin API  {base}/admin/api" in banner
    assert "dev-admin-token, the development default" in banner
    assert "simulated (no real calls)" in banner
    assert f"sqlite:///{tmp_path}" in banner
    assert "demo account" not in banner  # the store had an account already


def test_without_dev_mode_the_error_names_both_ways_to_enable_it(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "VOICEOTP_DEV_MODE": "0"}
    env.pop("VOICEOTP_SECRET_KEY", None)
    result = run_voiceotp(env, "serve", "--data-dir", str(tmp_path), "--port", "0")
    assert result.returncode == 1
    assert "--dev" in result.stderr
    assert "VOICEOTP_DEV_MODE=1" in result.stderr
    assert "voiceotp admin genkey" in result.stderr


@pytest.mark.postgres
@pytest.mark.parametrize("command", [("serve", "--port", "0"), ("dialer",)])
def test_a_database_that_does_not_exist_is_one_clear_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    missing = f"postgresql://postgres:secret@127.0.0.1:5432/voiceotp_absent_{os.getpid()}"
    env = {**os.environ, "PYTHONPATH": str(SRC), "VOICEOTP_DEV_MODE": "1"}
    result = run_voiceotp(env, *command, "--data-dir", str(tmp_path), "--database-url", missing)
    assert result.returncode == 1
    assert "cannot open the database postgresql://postgres:***@127.0.0.1:5432/" in result.stderr
    assert "does not exist" in result.stderr
    assert "createdb" in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr


def test_a_second_api_process_without_redis_is_refused(serving: Serving, tmp_path: Path) -> None:
    """Caps in memory are per process: a second one on the store would let a number be
    called twice a minute (with Redis, both share them and both may run)."""
    result = run_voiceotp(serve_env(tmp_path), "serve", "--port", str(free_port()))
    assert result.returncode == 1
    assert "another API process is running on this store" in result.stderr
    assert "redis_url" in result.stderr
    assert "Traceback" not in result.stderr
