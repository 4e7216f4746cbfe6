"""Migration 0013 adds the RTP statistics columns of ``call_attempts`` as store/schema.py
has them, and reverts, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.store.schemakit import inspect_with
from voiceotp.gateway.settings import Settings
from voiceotp.store.migrate import alembic_config, upgrade
from voiceotp.store.schema import metadata

COLUMNS = {"rtp_in_packets", "rtp_in_lost", "rtp_in_jitter_ms", "rtp_out_lost", "rtp_out_jitter_ms"}


def _look(conn: sa.Connection) -> tuple[list[object], set[str]]:
    diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    columns = {c["name"] for c in sa.inspect(conn).get_columns("call_attempts")}
    return [d for d in diffs if "rtp_" in repr(d)], columns


def test_0013_matches_the_schema_and_reverts(settings: Settings) -> None:
    url = settings.effective_database_url
    diffs, columns = inspect_with(url, _look)
    assert diffs == []
    assert columns >= COLUMNS
    command.downgrade(alembic_config(url), "0012")
    assert not inspect_with(url, _look)[1] & COLUMNS
    upgrade(url)
    assert inspect_with(url, _look)[0] == []
