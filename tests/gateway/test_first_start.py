"""A first start: the store is made where it was meant to be (only the default data dir
is made as a folder), and only development mode creates a demo account."""

from __future__ import annotations

import asyncio
import shlex
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from tests.stores import reset_postgres
from voiceotp.cli import cli
from voiceotp.cli.serve import prepare
from voiceotp.gateway.settings import Settings
from voiceotp.store import make_store
from voiceotp.store.keys import new_secret_key
from voiceotp.store.migrate import upgrade


def test_upgrade_makes_the_sqlite_file_but_no_folder(tmp_path: Path) -> None:
    path = tmp_path / "voiceotp.db"
    upgrade(f"sqlite:///{path}")
    query = "SELECT name FROM sqlite_master WHERE type='table'"
    tables = {row[0] for row in sqlite3.connect(path).execute(query)}
    assert {"accounts", "calls"} <= tables
    with pytest.raises(Exception, match="unable to open database file"):
        upgrade(f"sqlite:///{tmp_path / 'missing' / 'voiceotp.db'}")
    assert not (tmp_path / "missing").exists()


def test_serve_makes_its_default_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_mapping({"dev_mode": True})
    asyncio.run(prepare(settings, Console(record=True), "http://127.0.0.1:8080"))
    assert (tmp_path / "voiceotp-data" / "voiceotp.db").is_file()


async def account_names(settings: Settings) -> list[str]:
    store = make_store(settings)
    await store.open()
    try:
        return [a.name for a in await store.list_accounts()]
    finally:
        await store.close()


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_production_first_start_prints_the_command_for_the_first_account(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    key = new_secret_key()
    values: dict[str, object] = {"secret_key": key, "data_dir": tmp_path}
    if database == "postgres":
        url = request.getfixturevalue("pg_url")
        asyncio.run(reset_postgres(url))
        values["database_url"] = url
    settings = Settings.from_mapping(values)
    console = Console(record=True, width=300)
    asyncio.run(prepare(settings, console, "http://127.0.0.1:8080"))
    shown = console.export_text()
    assert asyncio.run(account_names(settings)) == []  # no demo account outside --dev
    assert "APIKEY (password)" not in shown
    command = next(line for line in shown.splitlines() if "voiceotp admin" in line)
    # The printed command, run as printed with the server's key, makes the first account.
    args = shlex.split(command)
    assert args[:3] == ["voiceotp", "admin", "create"]
    created = CliRunner(env={"VOICEOTP_SECRET_KEY": key, "VOICEOTP_DEV_MODE": ""}).invoke(
        cli, args[1:]
    )
    assert created.exit_code == 0, created.output
    assert len(asyncio.run(account_names(settings))) == 1


def test_a_dev_first_start_still_prints_a_demo_account(tmp_path: Path) -> None:
    settings = Settings.from_mapping({"dev_mode": True, "data_dir": tmp_path})
    console = Console(record=True, width=300)
    asyncio.run(prepare(settings, console, "http://127.0.0.1:8080"))
    assert "APIKEY (password)" in console.export_text()
    assert len(asyncio.run(account_names(settings))) == 1


async def first_voiceid(settings: Settings) -> str:
    """The voiceid of the first Submit a store accepts."""
    from voiceotp.store import Acceptance
    from voiceotp.store.keys import KeyBox

    await asyncio.to_thread(upgrade, settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        keybox = KeyBox(settings.secret_key)
        account = await store.create_account(name="V10000001", apikey_enc=keybox.seal("k"), now=0)
        await store.adjust_balance(account.id, 1, "topup", 0)
        outcome = await store.accept(Acceptance(account.id, "13800138000", "1125", 0, 300))
        return outcome.voiceid
    finally:
        await store.close()


async def test_fresh_stores_with_the_dev_key_hand_out_different_voiceids(tmp_path: Path) -> None:
    """Every development store shares the well-known key; its voiceids must still differ
    (the demo's repeated across fresh data folders). Equal by chance once in 16.7 million."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    ids = [
        await first_voiceid(Settings.from_mapping({"dev_mode": True, "data_dir": folder}))
        for folder in (first, second)
    ]
    assert ids[0] != ids[1]
