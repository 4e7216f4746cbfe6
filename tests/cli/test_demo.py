"""`voiceotp demo` as a user runs it: a subprocess, a small N, fast simulated calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import tone_clips

pytestmark = pytest.mark.timeout(120)
SRC = Path(__file__).parents[2] / "src"


def test_demo_sends_codes_and_shows_every_call_answered(tmp_path: Path) -> None:
    clips = tone_clips(tmp_path / "clips")
    delivery = {
        "prompt_dir": str(clips),
        "prompt_cache_dir": str(tmp_path / "cache"),
        "prompt_repeat": 1,
        "poll_s": 0.1,
        "simulation": {"ring_after_s": 0.05, "answer_after_s": 0.05},
    }
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_DELIVERY": json.dumps(delivery),
        "COLUMNS": "200",
    }
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "voiceotp", "demo", "-n", "2", "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All 2 calls answered." in done.stdout
    rows = [line for line in done.stdout.splitlines() if "ANSWERED" in line]
    assert len(rows) == 2
    assert "138****8000" in done.stdout
    assert "13800138000" not in done.stdout  # numbers are masked
    heard = sorted((data / "calls").glob("*.wav"))
    assert len(heard) == 2
    flat = "".join(done.stdout.split())  # rich may wrap the caption anywhere
    assert f"{heard[0].parent}/<voiceid>.wav" in flat
    assert all(path.stem in done.stdout for path in heard)  # the voiceids of the table
    assert (data / "voiceotp.db").exists()
