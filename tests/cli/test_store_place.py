"""Where the gateway commands find their store (issue 10): admin and dialer never make
one, a named folder is never made, bad database URLs and --dev placement are clear."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.stores import postgres_database
from voiceotp.cli import cli

NAME = "V12345678"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current folder, as a first-time user's terminal 2 would be."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """``voiceotp ARGS`` with no VOICEOTP_* setting but ``env`` (no dev mode, no key)."""
    runner = CliRunner(env={"VOICEOTP_DEV_MODE": "", "VOICEOTP_SECRET_KEY": "", **(env or {})})
    return runner.invoke(cli, list(args))


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


# ---- item 5: commands that act on an existing store do not make one ------------------------
@pytest.mark.parametrize(
    "command",
    [("admin", "--dev", "create"), ("admin", "list", "--dev"), ("dialer", "--dev")],
    ids=" ".join,
)
def test_a_command_for_an_existing_store_refuses_to_make_one_here(
    here: Path, command: tuple[str, ...]
) -> None:
    error = one_line_error(run(*command))
    assert f"no voiceotp store at {here / 'voiceotp-data' / 'voiceotp.db'}" in error
    assert "the default data dir ./voiceotp-data" in error
    for way in ("--data-dir", "--database-url", "VOICEOTP_DATA_DIR", "VOICEOTP_DATABASE_URL"):
        assert way in error
    assert not (here / "voiceotp-data").exists()


def test_admin_refuses_a_data_dir_that_does_not_exist(here: Path) -> None:
    missing = here / "typo"
    error = one_line_error(run("admin", "list", "--dev", "--data-dir", str(missing)))
    assert f"no voiceotp store at {missing / 'voiceotp.db'}" in error
    assert "that folder does not exist" in error
    assert not missing.exists()


def test_admin_refuses_a_folder_without_a_store(here: Path) -> None:
    error = one_line_error(run("admin", "list", "--dev", "--data-dir", str(here)))
    assert f"no voiceotp store at {here / 'voiceotp.db'}" in error
    assert not (here / "voiceotp.db").exists()


@pytest.mark.postgres
def test_admin_refuses_a_postgres_database_without_the_schema() -> None:
    with postgres_database("voiceotp_empty") as url:
        error = one_line_error(run("admin", "list", "--dev", "--database-url", url))
    assert "no voiceotp store in the database postgresql://" in error
    assert "voiceotp db upgrade" in error


def test_admin_works_on_the_store_that_db_upgrade_made(here: Path) -> None:
    made = run("db", "upgrade", "--dev")
    assert made.exit_code == 0, made.output
    assert (here / "voiceotp-data" / "voiceotp.db").exists()  # the default dir is made
    created = run("admin", "create", "--dev", "--name", NAME)
    assert created.exit_code == 0, created.output
    assert NAME in run("admin", "list", "--dev").output


# ---- item 6: one-line errors, no folder made for a named path -------------------------------
@pytest.mark.parametrize("url", ["foo", "mysql://voice:s3cret@db.example/voiceotp", "sqlite://x"])
@pytest.mark.parametrize(
    "command", [("serve", "--port", "0"), ("admin", "list"), ("db", "upgrade"), ("dialer",)]
)
def test_an_unsupported_database_url_names_the_supported_ones(
    here: Path, url: str, command: tuple[str, ...]
) -> None:
    error = one_line_error(run(*command, "--dev", "--database-url", url))
    assert "sqlite:///" in error
    assert "postgresql://" in error
    assert "s3cret" not in error


@pytest.mark.parametrize("command", [("serve", "--port", "0"), ("db", "upgrade")])
def test_a_sqlite_url_in_a_missing_folder_makes_no_folder(
    here: Path, command: tuple[str, ...]
) -> None:
    url = f"sqlite:///{here / 'missing' / 'dir' / 'x.db'}"
    error = one_line_error(run(*command, "--dev", "--database-url", url))
    assert f"the folder {here / 'missing' / 'dir'} of the database URL" in error
    assert "mkdir -p" in error
    assert not (here / "missing").exists()


@pytest.mark.parametrize("command", [("serve", "--port", "0"), ("db", "upgrade")])
def test_a_data_dir_that_does_not_exist_is_not_made(here: Path, command: tuple[str, ...]) -> None:
    error = one_line_error(run(*command, "--dev", "--data-dir", str(here / "typo")))
    assert f"the data dir {here / 'typo'} does not exist" in error
    assert not (here / "typo").exists()


def test_audio_to_a_missing_folder_is_one_line(here: Path) -> None:
    error = one_line_error(run("audio", "1125", "-o", str(here / "missing" / "x.wav")))
    assert str(here / "missing" / "x.wav") in error


# ---- items 8 and 9: negative top-ups, --dev where a user types it ----------------------------
@pytest.fixture
def store(here: Path) -> Path:
    """A store with account NAME holding 150 units (dev mode)."""
    assert run("db", "upgrade", "--dev").exit_code == 0
    assert run("admin", "create", "--dev", "--name", NAME, "--balance", "150").exit_code == 0
    return here / "voiceotp-data"


@pytest.mark.parametrize(
    "args",
    [
        ("admin", "topup", "--dev", NAME, "-100"),
        ("admin", "--dev", "topup", NAME, "-100"),
        ("admin", "topup", NAME, "-100", "--dev", "--reason", "correction"),
    ],
    ids=" ".join,
)
def test_a_negative_top_up_removes_units(store: Path, args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert f"{NAME}: balance 50" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("admin", "--dev", "show", NAME),
        ("admin", "show", "--dev", NAME),
        ("admin", "show", NAME, "--dev"),
        ("admin", "--data-dir", "voiceotp-data", "show", NAME, "--dev"),
        ("admin", "--dev", "show", NAME, "--data-dir", "voiceotp-data"),
    ],
    ids=" ".join,
)
def test_gateway_options_are_taken_before_and_after_the_subcommand(
    store: Path, args: tuple[str, ...]
) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert '"balance": 150' in result.output


@pytest.mark.parametrize(
    "args", [("db", "--dev", "upgrade"), ("db", "upgrade", "--dev")], ids=" ".join
)
def test_db_upgrade_takes_dev_at_either_level(here: Path, args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output


def test_the_subcommands_spelling_wins_over_the_groups(store: Path, here: Path) -> None:
    other = here / "other"
    other.mkdir()
    result = run("admin", "--data-dir", str(store), "list", "--dev", "--data-dir", str(other))
    assert f"no voiceotp store at {other / 'voiceotp.db'}" in one_line_error(result)


# ---- item 15: examples in every gateway command's help --------------------------------------
@pytest.mark.parametrize(
    "command", [("dialer",), ("admin", "create"), ("admin", "topup"), ("db", "upgrade")]
)
def test_help_shows_examples(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    examples = result.output[result.output.index("Examples:") :]
    assert re.search(rf"^\s+voiceotp {' '.join(command)} ", examples, re.MULTILINE)
