"""``voiceotp verify`` and ``voiceotp check`` against FakeIhuyi served over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from voiceotp.cli import cli
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

MOBILE = "13800138000"


@pytest.fixture
def fake() -> FakeIhuyi:
    return FakeIhuyi()


@pytest.fixture
def env(fake: FakeIhuyi, tmp_path: Path) -> Iterator[dict[str, str]]:
    with fake.serve() as server:
        yield {
            "VOICEOTP_ACCOUNT": DEFAULT_ACCOUNT,
            "VOICEOTP_APIKEY": DEFAULT_APIKEY,
            "VOICEOTP_BASE_URL": server.url,
            "VOICEOTP_CONFIG": str(tmp_path / "absent.toml"),
        }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_verify_then_check(env: dict[str, str], fake: FakeIhuyi) -> None:
    result = run(env, "verify", MOBILE, "--length", "4")
    assert result.exit_code == 0, result.output
    code = fake.spoken_code(MOBILE)
    assert f"voiceid {fake.calls[0].voiceid}" in result.output
    assert code not in result.output
    assert MOBILE not in result.output
    result = run(env, "check", MOBILE, code, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert (doc["ok"], doc["result_code"], doc["voiceid"]) == (True, 2, fake.calls[0].voiceid)


def test_check_refusals_exit_1(env: dict[str, str], fake: FakeIhuyi) -> None:
    result = run(env, "check", MOBILE, "1234", "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["result_code"] == 4504
    assert run(env, "verify", MOBILE).exit_code == 0
    wrong = "000000" if fake.spoken_code(MOBILE) != "000000" else "111111"
    result = run(env, "check", MOBILE, wrong)
    assert result.exit_code == 1
    assert "4501" in result.output


def test_usage_errors_exit_2(env: dict[str, str]) -> None:
    assert run(env, "check", MOBILE, "12ab").exit_code == 2
    assert run(env, "verify", "12345").exit_code == 2
    assert run(env, "verify", MOBILE, "--length", "9").exit_code == 2


def test_lost_verify_exits_6(env: dict[str, str], fake: FakeIhuyi) -> None:
    fake.lose_responses(MOBILE)
    result = run(env, "verify", MOBILE, "--timeout", "2")
    assert result.exit_code == 6, result.output
    assert fake.submits[MOBILE] == 1
