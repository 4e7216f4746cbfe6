"""What the client library logs reaches stderr only when asked (-v, VOICEOTP_LOG_LEVEL)."""

from __future__ import annotations

import logging
from pathlib import Path

from click.testing import CliRunner

from tests.cli.conftest import voiceotp
from tests.client.test_http import closed_port_url
from voiceotp.cli import cli

MOBILES = [f"1390000{i:04d}" for i in range(5)]


def batch_to_a_closed_port(env: dict[str, str], *options: str) -> tuple[int, str, str]:
    Path("in.csv").write_text("mobile\n" + "\n".join(MOBILES) + "\n", encoding="utf-8")
    env["VOICEOTP_BASE_URL"] = closed_port_url()
    args = [*options, "batch", "in.csv", "--no-progress", "--max-attempts", "1", "--json"]
    process = voiceotp(env, *args)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_failed_rows_do_not_flood_stderr_by_default(env: dict[str, str]) -> None:
    _, out, err = batch_to_a_closed_port(env)
    assert "Submit" not in err, err  # was one WARNING line per row and attempt
    assert "failed" in out  # the summary says it, once


def test_verbose_shows_the_client_log_with_masked_numbers(env: dict[str, str]) -> None:
    _, _, err = batch_to_a_closed_port(env, "-v")
    assert "Submit 139****0000 failed" in err
    assert "WARNING voiceotp.client" in err
    assert not any(mobile in err for mobile in MOBILES)


def test_the_log_level_can_come_from_the_environment(env: dict[str, str]) -> None:
    env["VOICEOTP_LOG_LEVEL"] = "debug"
    _, _, err = batch_to_a_closed_port(env)
    assert "DEBUG voiceotp.client: not retrying" in err
    assert "Submit 139****0000 failed" in err


def test_send_prints_its_error_once(env: dict[str, str]) -> None:
    env["VOICEOTP_BASE_URL"] = closed_port_url()
    process = voiceotp(env, "send", "13800138000", "1234")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 5
    assert err.count("could not connect") == 1, err


def test_a_bad_log_level_is_a_usage_error(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["--log-level", "loud", "balance"], env=env)
    assert result.exit_code == 2


def test_the_logging_setup_is_undone_after_the_command(env: dict[str, str]) -> None:
    logger = logging.getLogger("voiceotp")
    before = (logger.level, list(logger.handlers))
    result = CliRunner().invoke(cli, ["-vv", "balance"], env=env)
    assert result.exit_code == 0, result.output
    assert (logger.level, list(logger.handlers)) == before
