"""Every benchmark answers ``--help`` with its usage and exits, instead of running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_prints_the_usage_and_runs_nothing(script: str) -> None:
    try:
        done = subprocess.run(
            [sys.executable, str(BENCH / script), "--help"],
            capture_output=True,
            text=True,
            timeout=120,  # a guard: a benchmark that ignores --help runs for minutes
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script} --help ran the benchmark")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout[:300]
