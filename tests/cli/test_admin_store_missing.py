"""The commands on an existing store name themselves when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceotp.cli import cli


@pytest.mark.parametrize("args", [["template", "list"], ["customer", "list"], ["operator", "list"]])
def test_no_store_names_the_command_that_was_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner(env={"VOICEOTP_DEV_MODE": "1"}).invoke(
        cli, ["admin", *args], prog_name="voiceotp"
    )
    assert result.exit_code == 1, result.output
    assert "no voiceotp store at" in result.output
    assert f"`voiceotp admin {' '.join(args)}` works on an existing store" in result.output
