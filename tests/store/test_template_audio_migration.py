"""Migration 0012 (template audio): ``template_recordings`` and
``notice_templates.play_times`` match store/schema.py, revert, and come back; the
recordings' store functions on both stores."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.store.schemakit import inspect_with
from tests.store.test_verify_migration import _tables
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store
from voiceotp.store import notify as db
from voiceotp.store import recordings as rec
from voiceotp.store.migrate import alembic_config, upgrade
from voiceotp.store.schema import metadata

Found = tuple[list[object], set[str], set[str]]


def _look(conn: sa.Connection) -> Found:
    diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diffs if "template_recordings" in _tables(d) or "play_times" in repr(d)]
    inspector = sa.inspect(conn)
    columns = {c["name"] for c in inspector.get_columns("notice_templates")}
    return ours, set(inspector.get_table_names()), columns


def test_0012_matches_the_schema_and_reverts(settings: Settings) -> None:
    url = settings.effective_database_url
    diffs, tables, columns = inspect_with(url, _look)
    assert diffs == []
    assert "template_recordings" in tables
    assert "play_times" in columns
    command.downgrade(alembic_config(url), "0011")
    _, tables, columns = inspect_with(url, _look)
    assert "template_recordings" not in tables
    assert "play_times" not in columns
    assert "notice_templates" in tables
    upgrade(url)
    assert inspect_with(url, _look)[0] == []


async def test_recordings_put_replace_list_delete(store: Store) -> None:
    await store.open()
    try:
        account = await store.create_account(name="V10000009", apikey_enc="x", now=1.0)
        filed = await db.file_template(
            store, account_id=account.id, text="您好{name}再见", var_max=8, by="t", now=1.0
        )
        assert filed.play_times == 1
        assert await db.set_play_times(store, template_id=filed.id, play_times=3)
        got = await db.get_template(store, template_id=filed.id)
        assert got is not None
        assert got.play_times == 3
        first = rec.TemplateRecording(filed.id, 0, "a" * 32, "WAV", 800, "operator:o", 2.0)
        assert await rec.put_recording(store, first) is None
        second = rec.TemplateRecording(filed.id, 0, "b" * 32, "FLAC", 900, "operator:o", 3.0)
        assert await rec.put_recording(store, second) == "a" * 32  # the replaced file
        tail = rec.TemplateRecording(filed.id, 1, "c" * 32, "MP3", 500, "cli", 4.0)
        await rec.put_recording(store, tail)
        assert await rec.list_recordings(store, template_id=filed.id) == [second, tail]
        assert await rec.delete_recording(store, template_id=filed.id, part=0) == second
        assert await rec.delete_recording(store, template_id=filed.id, part=0) is None
        assert await rec.delete_recordings(store, template_id=filed.id) == ["c" * 32]
        assert await rec.list_recordings(store, template_id=filed.id) == []
    finally:
        await store.close()
