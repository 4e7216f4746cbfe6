"""What the client commands say when something fails (issue 10, item 10): the service's
own (Chinese) message stays, followed by what it means and what to do; transport
failures name the URL tried; a missing config file is named as missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.cli.test_batch import write_csv
from tests.client.test_http import closed_port_url
from tests.error_page import serve_error_page
from voiceotp.cli import cli
from voiceotp.protocol import message_for
from voiceotp.testing import FakeIhuyi

MOBILE = "13800138000"


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.mark.parametrize(
    ("code", "explained"),
    [
        (4081, "per-number cap"),
        (408, "`voiceotp admin clear-abuse ACCOUNT`"),
        (4051, "`voiceotp admin topup ACCOUNT UNITS`"),
    ],
)
def test_a_refusal_keeps_the_service_message_and_explains_it(
    env: dict[str, str], fake: FakeIhuyi, code: int, explained: str
) -> None:
    fake.script(MOBILE, code)
    result = run(env, "send", MOBILE, "1234")
    assert result.exit_code in (1, 4), result.output
    raw = message_for(code, n=1)
    assert f"{code} {raw}" in result.stderr
    assert explained in result.stderr


def test_a_wrong_key_is_explained(env: dict[str, str]) -> None:
    result = run({**env, "VOICEOTP_APIKEY": "f" * 32}, "balance")
    assert result.exit_code == 4
    assert "405 用户名或密码不正确" in result.stderr
    assert "wrong account (APIID) or APIKEY" in result.stderr


def test_json_errors_carry_the_explanation(env: dict[str, str], fake: FakeIhuyi) -> None:
    fake.script(MOBILE, 4081)
    doc = json.loads(run(env, "send", MOBILE, "1234", "--json").stdout)
    assert doc["message"].startswith("4081 同一手机号码")
    assert "per-number cap" in doc["hint"]


def test_a_connect_failure_names_the_url_tried(env: dict[str, str]) -> None:
    url = closed_port_url()
    for command in (["send", MOBILE, "1234"], ["balance"]):
        result = run(env, *command, "--base-url", url)
        assert result.exit_code == 5, result.output
        assert f"could not connect to {url}" in result.stderr


def test_a_wrong_path_says_the_http_status_and_the_url(env: dict[str, str]) -> None:
    with serve_error_page(404, b"Not Found") as url:
        wrong = url.replace("/webservice/voice.php", "/wrong")
        sent = run(env, "send", MOBILE, "1234", "--base-url", wrong)
        balance = run(env, "balance", "--base-url", wrong)
    for result in (sent, balance):
        assert f"HTTP 404 from {wrong}" in result.stderr, result.stderr
        assert "check --base-url" in result.stderr


def test_a_missing_config_file_is_named_as_missing(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    bare = {"VOICEOTP_CONFIG": str(missing), "VOICEOTP_ACCOUNT": "", "VOICEOTP_APIKEY": ""}
    sent = run(bare, "send", MOBILE, "1234")
    assert sent.exit_code == 3
    assert f"the config file {missing} (named by VOICEOTP_CONFIG) does not exist" in sent.stderr
    shown = run(bare, "config", "show")
    assert f"config file: {missing} (does not exist)" in shown.stdout


def test_a_batch_stopped_by_an_account_code_explains_it(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.script("13800130001", 4051)
    source = write_csv(Path("in.csv"), [(f"1380013000{i}", "1234") for i in range(3)])
    result = run(env, "batch", "--no-progress", str(source))
    assert result.exit_code == 4, result.output
    assert "stopped: 4051 剩余条数不足" in result.stderr
    assert "`voiceotp admin topup ACCOUNT UNITS`" in result.stderr
