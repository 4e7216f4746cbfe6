"""``voiceotp dialer`` says when it stops (SIGTERM) and when it has stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tests.cli.conftest import SRC, wait_for
from voiceotp.cli import cli


def test_sigterm_is_logged_with_the_grace_and_the_end(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    env = {"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path / "data")}
    upgraded = CliRunner(env=env).invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    log = tmp_path / "dialer.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "voiceotp", "dialer"],
            env={**os.environ, **env, "PYTHONPATH": str(SRC)},
            stdout=err,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_for(lambda: "running" in log.read_text(), process)
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=60) == 0
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    said = log.read_text()
    assert "running: simulated (no real calls); status push on" in said, said
    assert "stopping (SIGTERM or Ctrl-C): calls in progress get up to 20 s" in said, said
    assert "stopped" in said.splitlines()[-1], said
