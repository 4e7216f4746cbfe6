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


def test_demo_shows_answered_busy_and_unanswered_calls_and_their_pushes(tmp_path: Path) -> None:
    clips = tone_clips(tmp_path / "clips")
    delivery = {
        "prompt_dir": str(clips),
        "prompt_cache_dir": str(tmp_path / "cache"),
        "prompt_repeat": 1,
        "poll_s": 0.1,
        "ring_timeout_s": 0.5,
        "redial": {"NO_ANSWER": [0.1]},
        "push_poll_s": 0.1,
        "simulation": {"ring_after_s": 0.05, "answer_after_s": 0.05, "reject_after_s": 0.05},
    }
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_DELIVERY": json.dumps(delivery),
        "COLUMNS": "80",
    }
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "voiceotp", "demo", "-n", "4", "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "All 4 calls ended as expected (2 ANSWERED, 1 BUSY, 1 NO_ANSWER)" in " ".join(
        out.split()
    )
    rows = {r[0]: r for r in map(str.split, out.splitlines()) if r and r[0].startswith("138*")}
    # number, code, voiceid, status, SIP, tries, heard, push
    assert rows["138****8000"][3:6] == ["ANSWERED", "200", "1"]
    assert rows["138****0486"][3:5] == ["BUSY", "486"]
    assert rows["138****0487"][3:6] == ["NO_ANSWER", "487", "2"]  # rang out, redialed once
    assert all(row[-1] == "yes" for row in rows.values())  # each signed push arrived
    assert "13800130486" not in out  # numbers are masked
    assert "138****0486 is busy, 138****0487 does not answer" in out
    heard = sorted((data / "calls").glob("*.wav"))
    assert len(heard) == 2  # only answered calls are heard
    assert {path.stem for path in heard} == {rows["138****8000"][2], rows["138****8001"][2]}
    assert (data / "voiceotp.db").exists()
