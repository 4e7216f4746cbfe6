"""Migration 0010 (privacy) adds ``accounts.keep_numbers_days`` / ``keep_audio_days`` as
store/schema.py has them, and reverts, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.store.schemakit import inspect_with as _inspect
from voiceotp.gateway.settings import Settings
from voiceotp.store.migrate import alembic_config, upgrade
from voiceotp.store.schema import metadata

COLUMNS = {"keep_numbers_days", "keep_audio_days"}


def _accounts_columns(conn: sa.Connection) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns("accounts")}


def _differences(conn: sa.Connection) -> list[object]:
    diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    return [d for d in diffs if any(name in repr(d) for name in COLUMNS)]


def test_0010_privacy_matches_the_schema_and_reverts(settings: Settings) -> None:
    url = settings.effective_database_url
    assert _inspect(url, _differences) == []
    assert _inspect(url, _accounts_columns) >= COLUMNS
    command.downgrade(alembic_config(url), "0009")
    assert not COLUMNS & _inspect(url, _accounts_columns)
    upgrade(url)
    assert _inspect(url, _differences) == []
