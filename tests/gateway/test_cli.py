"""``voiceotp serve``, ``voiceotp admin`` and ``voiceotp db`` end to end."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner

from tests.stores import reset_postgres
from voiceotp.cli import cli
from voiceotp.protocol import Code, Method, parse_result

SRC = str(Path(__file__).parents[2] / "src")


@pytest.fixture
def runner(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path)})


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_admin_commands(runner: CliRunner, tmp_path: Path) -> None:
    invoke(runner, "db", "upgrade")
    assert (tmp_path / "voiceotp.db").exists()
    created = invoke(runner, "admin", "create", "--name", "V12345678", "--balance", "3")
    assert re.search(r"apikey [0-9a-f]{32}", created)
    assert "balance 8" in invoke(runner, "admin", "topup", "V12345678", "5")
    invoke(runner, "admin", "freeze", "V12345678")
    invoke(
        runner, "admin", "configure", "V12345678", "--allow-ip", "10.0.0.0/8", "--per-minute", "2"
    )
    invoke(runner, "admin", "blacklist", "V12345678", "13911112222")
    shown = invoke(runner, "admin", "show", "V12345678")
    assert '"state": "frozen"' in shown
    assert '"cap_minute": 2' in shown
    assert "13911112222" in shown
    assert "V12345678" in invoke(runner, "admin", "list")
    assert "192.0.2.0/24" in invoke(runner, "admin", "policy", "deny_ip", "192.0.2.0/24")
    bad = runner.invoke(cli, ["admin", "topup", "V12345678", "--", "-100"])
    assert bad.exit_code != 0
    assert "below zero" in bad.output
    missing = runner.invoke(cli, ["admin", "freeze", "V00000000"])
    assert missing.exit_code != 0


def test_production_settings_refuse_to_start_without_a_key(tmp_path: Path) -> None:
    result = CliRunner(env={"VOICEOTP_DEV_MODE": "0"}).invoke(
        cli, ["db", "upgrade", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "VOICEOTP_SECRET_KEY" in result.output


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_serve_prints_a_demo_account_that_works(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    env = {**os.environ, "PYTHONPATH": SRC, "VOICEOTP_DEV_MODE": "1", "PYTHONUNBUFFERED": "1"}
    env["VOICEOTP_DATA_DIR"] = str(tmp_path)
    if database == "postgres":
        url = request.getfixturevalue("pg_url")
        asyncio.run(reset_postgres(url))
        env["VOICEOTP_DATABASE_URL"] = url
    policy = CliRunner(env={k: v for k, v in env.items() if k.startswith("VOICEOTP_")})
    invoke(policy, "db", "upgrade")  # admin works on an existing store only
    invoke(policy, "admin", "policy", "deny_ip", "203.0.113.5")
    command = [sys.executable, "-m", "voiceotp", "serve", "--port", "0"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, url = "", None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline() if process.stdout else ""
            if not line and process.poll() is not None:
                break
            output += line
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        assert url is not None, output
        account = re.search(r"APIID\s+\(account\)\s+(V\d{8})", output)
        apikey = re.search(r"APIKEY \(password\)\s+([0-9a-f]{32})", output)
        assert account is not None
        assert apikey is not None
        form = {"account": account.group(1), "password": apikey.group(1), "format": "json"}
        # uvicorn must not rewrite the peer from X-Forwarded-For: no proxy is trusted here.
        spoofed = {"X-Forwarded-For": "203.0.113.5"}
        response = httpx2.post(
            f"{url}/webservice/voice.php?method=GetNum", data=form, headers=spoofed, timeout=10
        )
        result = parse_result(response.content, Method.GETNUM)
        assert (result.code, getattr(result, "num", None)) == (Code.OK, 100)
    finally:
        process.terminate()
        process.wait(timeout=30)
