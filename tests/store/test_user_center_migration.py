"""Migration 0009 creates the user center's tables and columns as store/schema.py has them,
and reverts, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.store.schemakit import inspect_with
from voiceotp.gateway.settings import Settings
from voiceotp.store.migrate import alembic_config, upgrade
from voiceotp.store.schema import metadata

Found = tuple[list[object], set[str], set[str], set[str]]
OURS = ("signups", "certifications", "web_users_account", "web_users_by_account", "trial",
        "apikey", "low_balance")  # fmt: skip


def _look(conn: sa.Connection) -> Found:
    diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    inspector = sa.inspect(conn)
    accounts = {c["name"] for c in inspector.get_columns("accounts")}
    users = {c["name"] for c in inspector.get_columns("web_users")}
    ours = [d for d in diffs if any(word in repr(d) for word in OURS)]
    return ours, set(inspector.get_table_names()), accounts, users


def _inspect(url: str) -> Found:
    return inspect_with(url, _look)


def test_0009_matches_the_schema_and_reverts(settings: Settings) -> None:
    url = settings.effective_database_url
    diffs, tables, accounts, users = _inspect(url)
    assert diffs == []
    assert {"signups", "certifications"} <= tables
    assert {"trial", "trial_numbers", "old_apikey_enc", "low_balance_alert"} <= accounts
    assert "account_id" in users
    command.downgrade(alembic_config(url), "0008")
    _, tables, accounts, users = _inspect(url)
    assert not {"signups", "certifications"} & tables
    assert "trial" not in accounts
    assert "account_id" not in users
    upgrade(url)
    assert _inspect(url)[0] == []
