"""A first start needs no manual set-up: the data folder is created by the migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from voiceotp.store.migrate import upgrade


def test_upgrade_creates_the_sqlite_folder(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "data" / "voiceotp.db"
    upgrade(f"sqlite:///{path}")
    query = "SELECT name FROM sqlite_master WHERE type='table'"
    tables = {row[0] for row in sqlite3.connect(path).execute(query)}
    assert {"accounts", "calls"} <= tables
