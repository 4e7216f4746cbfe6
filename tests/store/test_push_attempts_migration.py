"""Migration 0008 creates ``push_attempts`` and ``call_attempts.dialer`` as store/schema.py
has them, and reverts, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.store.schemakit import inspect_with
from tests.store.test_verify_migration import _tables
from voiceotp.gateway.settings import Settings
from voiceotp.store.migrate import alembic_config, upgrade
from voiceotp.store.schema import metadata

Found = tuple[list[object], set[str], set[str]]


def _look(conn: sa.Connection) -> Found:
    """The schema differences that concern 0008, the tables, call_attempts' columns."""
    diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    inspector = sa.inspect(conn)
    columns = {c["name"] for c in inspector.get_columns("call_attempts")}
    ours = [d for d in diffs if "push_attempts" in _tables(d) or "dialer" in repr(d)]
    return ours, set(inspector.get_table_names()), columns


def _inspect(url: str) -> Found:
    return inspect_with(url, _look)


def test_0008_matches_the_schema_and_reverts(settings: Settings) -> None:
    url = settings.effective_database_url
    diffs, tables, columns = _inspect(url)
    assert diffs == []
    assert "push_attempts" in tables
    assert "dialer" in columns
    command.downgrade(alembic_config(url), "0007")
    _, tables, columns = _inspect(url)
    assert "push_attempts" not in tables
    assert "dialer" not in columns
    upgrade(url)
    assert _inspect(url)[0] == []
