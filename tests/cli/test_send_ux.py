"""``voiceotp send|balance|query|config`` and the group: help, Ctrl-C, config checks,
JSON usage errors, unwrapped messages."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.cli.conftest import voiceotp, wait_for
from tests.client.test_http import closed_port_url
from voiceotp.cli import cli
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

MOBILE = "13800138000"


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=stdin)


def help_of(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_ctrl_c_while_the_request_is_in_flight_exits_6(
    env: dict[str, str], fake: FakeIhuyi
) -> None:
    fake.latency = 60  # accepted at once, answered never (within the test)
    process = voiceotp(env, "send", MOBILE, "1234")
    wait_for(lambda: fake.received.get(MOBILE, 0) > 0, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 6, err
    assert "the call to 138****8000 may have been placed; do not simply re-send" in err
    assert "Aborted" not in err
    assert MOBILE not in err


def test_top_level_help_has_examples() -> None:
    text = help_of()
    assert "Examples:" in text
    assert "voiceotp send 13800138000 1234" in text
    assert "voiceotp batch numbers.csv --dry-run" in text
    assert "VOICEOTP_LOG_LEVEL" in text


@pytest.mark.parametrize("command", ["send", "batch", "balance", "query"])
def test_help_says_where_the_apikey_comes_from(command: str) -> None:
    assert "The APIKEY is read from $VOICEOTP_APIKEY or the config file" in help_of(command)


@pytest.mark.parametrize("command", ["send", "batch"])
def test_dedupe_help_warns_about_real_ihuyi(command: str) -> None:
    text = " ".join(help_of(command).split())
    assert "real ihuyi service: it does not dedupe, so a replay there places a second call" in text


@pytest.mark.parametrize("command", ["balance", "query"])
def test_balance_and_query_have_no_dedupe(env: dict[str, str], command: str) -> None:
    assert "--dedupe" not in help_of(command)
    result = run(env, command, *(["42"] if command == "query" else []), "--dedupe")
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["send"], "--timeout"),
        (["config", "show"], "--config"),
        (["config", "show"], "--json"),
        (["config", "init"], "--account"),
        (["config", "init"], "--path"),
    ],
)
def test_every_option_has_help(command: list[str], option: str) -> None:
    lines = [
        re.sub(r"\[default: [^]]*\]", "", line).split() for line in help_of(*command).splitlines()
    ]
    entry = next(words for words in lines if words and words[0] == option)
    assert len(entry) > 2, entry  # option, metavar, then some words of help


@pytest.mark.parametrize("command", ["send", "balance", "query"])
def test_help_lists_the_exit_codes(command: str) -> None:
    text = " ".join(help_of(command).split())
    assert "Exit codes: 0 success; 1 the service refused" in text
    # Only a Submit can place a call, so only send can end with an unknown outcome (6).
    assert ("6 outcome unknown" in text) == (command == "send")


def test_errors_are_not_wrapped_when_stderr_is_not_a_terminal(env: dict[str, str]) -> None:
    result = run(env, "send", MOBILE, "1234", "--base-url", closed_port_url())
    assert result.exit_code == 5
    line = next(line for line in result.output.splitlines() if line.startswith("not sent"))
    assert line.rstrip().endswith("Connection refused')"), result.output


@pytest.mark.parametrize(
    "args",
    [
        ["send", "--json"],  # missing MOBILE
        ["send", MOBILE, "--length", "9", "--json"],
        ["balance", "--json", "--no-such-option"],
        ["query", "--json"],
        ["config", "show", "--json", "--no-such-option"],
    ],
)
def test_usage_errors_are_json_with_json(env: dict[str, str], args: list[str]) -> None:
    result = run(env, *args)
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert (doc["ok"], doc["error"]) == (False, "UsageError")
    assert doc["message"]


def test_json_after_a_double_dash_is_an_argument(env: dict[str, str]) -> None:
    result = run(env, "send", "--", "--json")
    assert result.exit_code == 2
    assert not result.stdout.startswith("{")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("secret-key-123456", "has 17 character(s), not all letters or digits"),
        ("0123456789abcdef0123456789abcdeg", "has 32 character(s)"),
        ("0123456789abcdef", "has 16 character(s)"),
        ("", "the APIKEY is empty"),
    ],
)
def test_config_init_refuses_what_cannot_be_an_apikey(
    env: dict[str, str], tmp_path: Path, key: str, reason: str
) -> None:
    path = tmp_path / "c.toml"
    args = ["config", "init", "--account", DEFAULT_ACCOUNT, "--path", str(path)]
    result = run(env, *args, "--apikey-stdin", "--json", stdin=key + "\n")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert reason in doc["message"]
    assert not path.exists()
    if key:
        assert key not in result.output


def test_config_init_refuses_an_account_with_spaces(env: dict[str, str], tmp_path: Path) -> None:
    args = ["config", "init", "--account", "V1 2", "--path", str(tmp_path / "c.toml")]
    result = run(env, *args, "--apikey-stdin", stdin=DEFAULT_APIKEY + "\n")
    assert result.exit_code == 2
    assert "without spaces" in result.output


@pytest.mark.parametrize("make", [True, False])
def test_config_init_into_a_directory_writes_config_toml_there(
    env: dict[str, str], tmp_path: Path, make: bool
) -> None:
    directory = tmp_path / "conf"
    if make:
        directory.mkdir()
    given = str(directory) if make else f"{directory}/"  # an existing one, or a trailing /
    args = ["config", "init", "--account", DEFAULT_ACCOUNT, "--path", given]
    result = run(env, *args, "--apikey-stdin", "--json", stdin=DEFAULT_APIKEY + "\n")
    assert result.exit_code == 0, result.output
    written = directory / "config.toml"
    assert json.loads(result.stdout)["config_file"] == str(written)
    assert f'apikey = "{DEFAULT_APIKEY}"' in written.read_text()


@pytest.mark.parametrize("command", [("balance",), ("query", "60000000")])
def test_ctrl_c_while_reading_exits_130_without_abort(
    env: dict[str, str], fake: FakeIhuyi, command: tuple[str, ...]
) -> None:
    fake.latency = 60  # the request is in, the answer never comes (within the test)
    process = voiceotp(env, *command)
    wait_for(lambda: fake.requests > 0, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "Aborted" not in err
