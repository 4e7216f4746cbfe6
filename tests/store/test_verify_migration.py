"""Migration 0006 creates exactly the Verify tables of store/schema.py, and reverts."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from voiceotp.store.migrate import alembic_config, upgrade
from voiceotp.store.schema import metadata

OWN = {"verifications", "fraud_overrides"}


def _diffs(url: str) -> list[object]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    return [d for d in found if OWN & set(_tables(d))]


def _tables(diff: object) -> list[str]:
    items = diff if isinstance(diff, list) else [diff]
    names = []
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            name = getattr(part, "name", None) or getattr(getattr(part, "table", None), "name", "")
            names.append(str(name))
    return names


def test_0006_matches_the_schema_and_reverts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _diffs(url) == []
    command.downgrade(alembic_config(url), "0005")
    engine = sa.create_engine(url)
    assert not OWN & set(sa.inspect(engine).get_table_names())
    engine.dispose()
    upgrade(url)
    assert _diffs(url) == []
