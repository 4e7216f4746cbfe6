"""Shared fixtures of the CLI tests: FakeIhuyi over HTTP, its environment, a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi, FakeServer

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def fake() -> FakeIhuyi:
    return FakeIhuyi(balance=1000)


@pytest.fixture
def server(fake: FakeIhuyi) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


@pytest.fixture
def env(server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials for the fake, no config file; the test runs in its tmp_path."""
    monkeypatch.chdir(tmp_path)
    return {
        "VOICEOTP_ACCOUNT": DEFAULT_ACCOUNT,
        "VOICEOTP_APIKEY": DEFAULT_APIKEY,
        "VOICEOTP_BASE_URL": server.url,
        "VOICEOTP_CONFIG": str(tmp_path / "absent.toml"),
    }


def voiceotp(env: dict[str, str], *args: str, **popen: Any) -> subprocess.Popen[str]:
    """``voiceotp ARGS`` in a child process (this worktree's src), text pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "voiceotp", *args],
        env={**os.environ, **env, "PYTHONPATH": str(SRC)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Until ``condition`` holds; fail with the child's output if it exits first."""
    deadline = time.monotonic() + 60
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the child exited or hung: {process.communicate()}")
        time.sleep(0.02)
