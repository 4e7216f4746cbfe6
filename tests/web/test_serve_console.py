"""``voiceotp serve`` serves the console unless ``--no-console``, and says at start how to
make the first operator."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from tests.web.conftest import PASSWORD
from voiceotp.cli import cli
from voiceotp.cli.serve import prepare
from voiceotp.gateway.settings import Settings


def start_output(settings: Settings, *, with_console: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, width=200)
    asyncio.run(prepare(settings, console, "http://127.0.0.1:8080", with_console=with_console))
    return out.getvalue()


def test_first_start_says_how_to_make_an_operator(tmp_path: Path) -> None:
    settings = Settings.from_mapping({"dev_mode": True, "data_dir": tmp_path})
    hint = "voiceotp admin operator create NAME --role admin"
    first = start_output(settings, with_console=True)
    assert "http://127.0.0.1:8080/console/" in first
    assert hint in first
    assert hint not in start_output(settings, with_console=False)
    runner = CliRunner(env={"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path)})
    made = runner.invoke(
        cli, ["admin", "operator", "create", "alice", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert hint not in start_output(settings, with_console=True)


def test_serve_has_a_console_switch() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert "--console / --no-console" in result.output
