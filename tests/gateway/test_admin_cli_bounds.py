"""``voiceotp admin`` refuses bad numbers and values with a clear error and exit 2 (never
a traceback), on both stores; and migration 0003 (the balance limit) applies to a
database holding accounts, and reverts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from click.testing import CliRunner

from tests.stores import postgres_database, reset_postgres
from voiceotp.cli import cli
from voiceotp.store.migrate import alembic_config, upgrade

NAME = "V12345678"
INSERT_ACCOUNT = (
    "INSERT INTO accounts (name, apikey_enc, balance, state, require_dynamic, allow_ips, "
    "callback_url, version, created_at) VALUES ('V1', 'x', 5, 'active', FALSE, '', '', 1, 0)"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> CliRunner:
    env = {"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path)}
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        asyncio.run(reset_postgres(url))
        env["VOICEOTP_DATABASE_URL"] = url
    runner = CliRunner(env=env)
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0  # admin makes no store
    created = runner.invoke(cli, ["admin", "create", "--name", NAME, "--balance", "3"])
    assert created.exit_code == 0, created.output
    return runner


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["topup", NAME, "99999999999999999999999"], "units must be between"),
        (["topup", NAME, "9223372036854775807"], "units must be between"),
        (["topup", NAME, "lots"], "'lots' is not an integer"),
        (["topup", NAME, "1000000000000"], "above 1000000000000"),
        (["topup", NAME, "5", "--reason", "a\x00b"], "control characters"),
        (["create", "--balance", "10000000000000"], "balance must be between 0 and"),
        (["create", "--name", "V1234\x005678"], "APIID"),
        (["configure", NAME, "--rate", "3000000000"], "rate_per_s must be between 0 and"),
        (["configure", NAME, "--per-day", "-1"], "cap_day must be between 0 and"),
        (["configure", NAME, "--callback-url", "http://a.example/\x00"], "control characters"),
        (["configure", NAME, "--abuse-prefix-burst", "-1"], "abuse_prefix_burst must be between"),
        (["policy", "sensitive_word", "bad\x00word"], "control characters"),
        (["show", "V1234567\x00"], "APIID"),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_2(
    runner: CliRunner, args: list[str], words: str
) -> None:
    result = runner.invoke(cli, ["admin", *args])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    shown = runner.invoke(cli, ["admin", "show", NAME])
    assert '"balance": 3' in shown.output  # nothing was written
    assert '"rate_per_s": null' in shown.output


def test_bounds_are_inclusive(runner: CliRunner) -> None:
    topped = runner.invoke(cli, ["admin", "topup", NAME, str(10**12 - 3)])
    assert topped.exit_code == 0, topped.output
    assert f"balance {10**12}" in topped.output
    rate = runner.invoke(cli, ["admin", "configure", NAME, "--rate", str(2**31 - 1)])
    assert rate.exit_code == 0, rate.output


def test_an_accounts_abuse_allowance_is_stored_and_cleared(runner: CliRunner) -> None:
    set_it = ["admin", "configure", NAME, "--abuse-prefix-burst", "5000"]
    set_it += ["--abuse-distinct-numbers", "0"]
    assert runner.invoke(cli, set_it).exit_code == 0
    shown = runner.invoke(cli, ["admin", "show", NAME]).output
    assert '"abuse_prefix_burst": 5000' in shown
    assert '"abuse_distinct_numbers": 0' in shown
    cleared = runner.invoke(cli, ["admin", "configure", NAME, "--abuse-defaults"])
    assert cleared.exit_code == 0, cleared.output
    shown = runner.invoke(cli, ["admin", "show", NAME]).output
    assert '"abuse_prefix_burst": null' in shown
    assert '"abuse_distinct_numbers": null' in shown


@pytest.fixture
def pg_scratch() -> Iterator[str]:
    """A database of its own (the session's is already at head)."""
    with postgres_database("voiceotp_mig") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.db'}"
    url: str = request.getfixturevalue("pg_scratch")
    return url


async def execute(url: str, sql: str) -> None:
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(sql)
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_migration_0003_keeps_accounts_and_reverts(scratch_url: str) -> None:
    upgrade(scratch_url, "0002")
    asyncio.run(execute(scratch_url, INSERT_ACCOUNT))
    upgrade(scratch_url)
    too_much = "UPDATE accounts SET balance = 1000000000000001"
    with pytest.raises(Exception, match="balance_within_limit"):
        asyncio.run(execute(scratch_url, too_much))
    asyncio.run(execute(scratch_url, "UPDATE accounts SET balance = 1000000000000000"))
    command.downgrade(alembic_config(scratch_url), "0002")
    asyncio.run(execute(scratch_url, too_much))  # the limit is gone again, the row kept
    with pytest.raises(Exception, match="balance_not_negative"):
        asyncio.run(execute(scratch_url, "UPDATE accounts SET balance = -1"))
