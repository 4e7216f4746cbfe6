"""``voiceotp send|balance|query|config`` against FakeIhuyi served over HTTP."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from tests.error_page import serve_error_page
from voiceotp.cli import cli
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi, FakeServer

MOBILE = "13800138000"


@pytest.fixture
def fake() -> FakeIhuyi:
    return FakeIhuyi()


@pytest.fixture
def server(fake: FakeIhuyi) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


@pytest.fixture
def env(server: FakeServer, tmp_path: Path) -> dict[str, str]:
    return {
        "VOICEOTP_ACCOUNT": DEFAULT_ACCOUNT,
        "VOICEOTP_APIKEY": DEFAULT_APIKEY,
        "VOICEOTP_BASE_URL": server.url,
        "VOICEOTP_CONFIG": str(tmp_path / "absent.toml"),
    }


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=stdin)


def test_send_with_a_code(env: dict[str, str], fake: FakeIhuyi) -> None:
    result = run(env, "send", "+86 138-0013-8000", "1234")
    assert result.exit_code == 0, result.output
    assert f"voiceid {fake.calls[0].voiceid}" in result.output
    assert "138****8000" in result.output
    assert MOBILE not in result.output
    assert fake.calls[0].content == "1234"


@pytest.mark.parametrize("length", ["4", "6"])
def test_send_generates_a_code(env: dict[str, str], fake: FakeIhuyi, length: str) -> None:
    result = run(env, "send", MOBILE, "--length", length, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["ok"] is True
    assert doc["code"] == fake.calls[0].content
    assert len(doc["code"]) == int(length)
    assert doc["code"].isdigit()
    assert doc["voiceid"] == fake.calls[0].voiceid
    assert doc["mobile"] == "138****8000"
    assert DEFAULT_APIKEY not in result.output


def test_send_refused_by_the_service(env: dict[str, str], fake: FakeIhuyi) -> None:
    fake.script(MOBILE, 4030)
    result = run(env, "send", MOBILE, "1234", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert (doc["ok"], doc["result_code"], doc["error"]) == (False, 4030, "NumberError")


def test_send_account_level_refusal(env: dict[str, str], fake: FakeIhuyi) -> None:
    fake.accounts[DEFAULT_ACCOUNT].balance = 0
    assert run(env, "send", MOBILE, "1234").exit_code == 4


def test_send_unknown_outcome(env: dict[str, str], fake: FakeIhuyi) -> None:
    fake.lose_responses(MOBILE)
    result = run(env, "send", MOBILE, "1234", "--json")
    assert result.exit_code == 6
    assert json.loads(result.output)["outcome_unknown"] is True
    assert fake.received[MOBILE] == 1


def test_send_invalid_number_is_a_usage_error(env: dict[str, str], fake: FakeIhuyi) -> None:
    assert run(env, "send", "12345", "1234").exit_code == 2
    assert run(env, "send", MOBILE, "12").exit_code == 2
    assert run(env, "send", MOBILE, "--length", "7").exit_code == 2
    assert fake.requests == 0


def test_missing_credentials_is_a_config_error(env: dict[str, str]) -> None:
    del env["VOICEOTP_APIKEY"]
    result = run(env, "balance", "--json")
    assert result.exit_code == 3
    assert json.loads(result.output)["error"] == "ConfigError"


def test_network_failure(env: dict[str, str]) -> None:
    from tests.client.test_http import closed_port_url

    result = run(env, "balance", "--base-url", closed_port_url())
    assert result.exit_code == 5


def test_send_with_an_unreadable_answer_may_have_placed_the_call(env: dict[str, str]) -> None:
    with serve_error_page() as url:
        as_json = run(env, "send", MOBILE, "1234", "--base-url", url, "--json")
        human = run(env, "send", MOBILE, "1234", "--base-url", url)
    assert as_json.exit_code == 6, as_json.output
    doc = json.loads(as_json.output)
    assert (doc["error"], doc["outcome_unknown"]) == ("ProtocolError", True)
    assert human.exit_code == 6
    said = " ".join(human.output.split())
    assert said.startswith("outcome unknown for 138****8000: ProtocolError")
    assert "the call may have been placed: do not simply re-send" in said


def test_balance_without_an_answer_exits_5_it_places_no_call(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.latency = 1.0
    result = run(env, "balance", "--timeout", "0.05", "--json")
    assert result.exit_code == 5, result.output
    assert json.loads(result.output)["error"] == "UnknownOutcome"


@pytest.mark.parametrize("seconds", ["-1", "0", "nan", "inf", "soon"])
def test_a_bad_timeout_is_a_usage_error(env: dict[str, str], fake: FakeIhuyi, seconds: str) -> None:
    result = run(env, "balance", "--timeout", seconds)
    assert result.exit_code == 2, result.output
    assert "--timeout" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert fake.requests == 0


def test_balance(env: dict[str, str], fake: FakeIhuyi) -> None:
    assert run(env, "balance").output.strip() == "100"
    assert json.loads(run(env, "balance", "--json").output) == {"ok": True, "num": 100}
    fake.accounts[DEFAULT_ACCOUNT].frozen = True
    assert run(env, "balance").exit_code == 4


def test_query(env: dict[str, str], fake: FakeIhuyi) -> None:
    voiceid = json.loads(run(env, "send", MOBILE, "1234", "--json").output)["voiceid"]
    doc = json.loads(run(env, "query", voiceid, "--json").output)
    assert (doc["ok"], doc["voiceid"], doc["status"]) == (True, voiceid, "ANSWERED")
    assert "status=ANSWERED" in run(env, "query", voiceid).output
    assert run(env, "query", "42").exit_code == 1


def test_config_init_and_show(env: dict[str, str], server: FakeServer, tmp_path: Path) -> None:
    path = tmp_path / "voiceotp" / "config.toml"
    for name in ("VOICEOTP_ACCOUNT", "VOICEOTP_APIKEY", "VOICEOTP_BASE_URL"):
        del env[name]
    env["VOICEOTP_CONFIG"] = str(path)
    args = ["config", "init", "--account", DEFAULT_ACCOUNT, "--base-url", server.url]
    result = run(env, *args, "--apikey-stdin", stdin=DEFAULT_APIKEY + "\n")
    assert result.exit_code == 0, result.output
    assert DEFAULT_APIKEY not in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run(env, *args, "--apikey-stdin", stdin="x\n").exit_code == 2  # exists: --force
    shown = run(env, "config", "show")
    assert shown.exit_code == 0
    assert DEFAULT_APIKEY not in shown.output
    assert "****cdef" in shown.output
    doc = json.loads(run(env, "config", "show", "--json").output)
    assert doc["account"] == {"value": DEFAULT_ACCOUNT, "source": f"file {path}"}
    assert run(env, "balance").output.strip() == "100"  # the written file works


def test_config_init_prompts_for_the_key_hidden(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    key = "fedcba9876543210fedcba9876543210"
    result = run(env, "config", "init", "--path", str(path), "--json", stdin=f"V1\n{key}\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1]) == {"ok": True, "config_file": str(path)}
    assert key not in result.output
    assert f'apikey = "{key}"' in path.read_text()


def test_config_show_without_credentials(env: dict[str, str]) -> None:
    del env["VOICEOTP_APIKEY"]
    result = run(env, "config", "show")
    assert result.exit_code == 3
    assert "apikey: (not set)" in result.output


@pytest.mark.parametrize("command", ["send", "balance", "query", "config"])
def test_help_has_examples(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output or "init" in result.output


def test_subprocess_send(env: dict[str, str], fake: FakeIhuyi) -> None:
    import os
    import subprocess
    import sys

    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run(
        [sys.executable, "-m", "voiceotp", "send", MOBILE, "123456", "--json"],
        env={**os.environ, **env, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["voiceid"] == fake.calls[0].voiceid


@pytest.fixture
def shanghai_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+8 for the test (then put back)."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("shanghai_time")
def test_query_prints_local_iso_times_and_json_keeps_numbers(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    voiceid = json.loads(run(env, "send", MOBILE, "1234", "--json").output)["voiceid"]
    doc = json.loads(run(env, "query", voiceid, "--json").output)
    assert isinstance(doc["submit_time"], int)
    text = run(env, "query", voiceid).output
    local = datetime.fromtimestamp(doc["submit_time"], ZoneInfo("Asia/Shanghai"))
    assert f"submit_time={local.isoformat(timespec='seconds')}" in text
    assert f"end_time={(local + timedelta(seconds=12)).isoformat(timespec='seconds')}" in text
    assert "+08:00" in text
    assert str(doc["submit_time"]) not in text
