"""Notice templates on both stores (file, decide once, list, delete), the notice columns
of calls, and migration 0011 (it matches store/schema.py and reverts)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from tests.store.test_verify_migration import _tables
from voiceotp.gateway.settings import Settings
from voiceotp.store import Acceptance, AcceptStatus, Store
from voiceotp.store import notify as db
from voiceotp.store.migrate import alembic_config, alembic_url, upgrade
from voiceotp.store.records import NoticeFill
from voiceotp.store.schema import metadata

NEW_COLUMNS = {"kind", "notice_text", "template_id", "quiet_hours", "time_zone"}


async def test_file_decide_list_delete(store: Store) -> None:
    await store.open()
    try:
        account = await store.create_account(name="VM1", apikey_enc="x", now=1.0)
        other = await store.create_account(name="VM2", apikey_enc="x", now=1.0)
        version = await store.policy_version()
        filed = await db.file_template(
            store, account_id=account.id, text="您的快递【变量】已到", var_max=8, by="c:a", now=2.0
        )
        assert filed.state == db.PENDING
        assert await store.policy_version() == version  # nothing to match yet
        assert await db.approved_templates(store, account_id=account.id) == []
        assert await db.get_template(store, template_id=filed.id, account_id=other.id) is None
        decided = await db.decide_template(
            store, template_id=filed.id, approve=True, reason="ok", by="op", now=3.0
        )
        assert decided is not None
        assert decided.state == db.APPROVED
        assert (decided.decided_by, decided.decided_at) == ("op", 3.0)
        assert await store.policy_version() > version  # gateways drop cached templates
        again = await db.decide_template(
            store, template_id=filed.id, approve=False, reason="no", by="op", now=4.0
        )
        assert again is None  # decided once
        assert [t.id for t in await db.approved_templates(store, account_id=account.id)] == [
            filed.id
        ]
        second = await db.file_template(
            store, account_id=account.id, text="{name}您好", var_max=8, by="c:a", now=5.0
        )
        rejected = await db.decide_template(
            store, template_id=second.id, approve=False, reason="太短", by="op", now=6.0
        )
        assert rejected is not None
        assert (rejected.state, rejected.reason) == ("rejected", "太短")
        listed = await db.list_templates(store, account_id=account.id)
        assert [t.id for t in listed] == [second.id, filed.id]
        assert await db.list_templates(store, state=db.PENDING) == []
        assert not await db.delete_template(store, template_id=filed.id, account_id=other.id)
        assert await db.delete_template(store, template_id=filed.id, account_id=account.id)
        assert await db.approved_templates(store, account_id=account.id) == []
    finally:
        await store.close()


async def test_a_notice_call_keeps_its_text_beside_the_code_columns(store: Store) -> None:
    await store.open()
    try:
        account = await store.create_account(name="VM1", apikey_enc="x", now=1.0, balance=5)
        text = "您的快递SF1234567890已到达" + "人民路站" * 30  # longer than content's 8
        outcome = await store.accept(
            Acceptance(
                account_id=account.id,
                mobile="02151290000",
                content=text,
                now=10.0,
                deadline=100.0,
                idem_key="h:k",
                notice=NoticeFill(template_id=7),
                not_before=50.0,
            )
        )
        assert outcome.status is AcceptStatus.ACCEPTED
        call = await store.get_call(outcome.voiceid)
        assert call is not None
        assert (call.kind, call.content, call.notice_text, call.spoken) == (
            "notice",
            "",
            text,
            text,
        )
        assert (call.template_id, call.not_before) == (7, 50.0)
        used = await store.find_idempotent(account.id, "h:k")
        assert used is not None
        assert used.fits("02151290000", text)
        code = await store.accept(
            Acceptance(account_id=account.id, mobile="13800138000", content="1234", now=11.0,
                       deadline=99.0)
        )  # fmt: skip
        call = await store.get_call(code.voiceid)
        assert call is not None
        assert (call.kind, call.spoken, call.template_id) == (
            "code",
            "1234",
            None,
        )
    finally:
        await store.close()


Found = tuple[list[object], set[str], set[str]]


def _look(conn: sa.Connection) -> Found:
    diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    inspector = sa.inspect(conn)
    columns = {c["name"] for t in ("calls", "accounts") for c in inspector.get_columns(t)}
    ours = [
        d
        for d in diffs
        if "notice_templates" in _tables(d) or any(c in repr(d) for c in NEW_COLUMNS)
    ]
    indexes = {i["name"] for i in inspector.get_indexes("calls")}
    return ours, set(inspector.get_table_names()), columns | indexes


async def _look_async(url: str) -> Found:
    engine = create_async_engine(url, poolclass=sa.pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_look)
    finally:
        await engine.dispose()


def _inspect(url: str) -> Found:
    url = alembic_url(url)
    if url.startswith("postgresql+asyncpg"):
        return asyncio.run(_look_async(url))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return _look(conn)
    finally:
        engine.dispose()


def test_0011_matches_the_schema_and_reverts(settings: Settings) -> None:
    url = settings.effective_database_url
    diffs, tables, columns = _inspect(url)
    assert diffs == []
    assert "notice_templates" in tables
    assert columns >= NEW_COLUMNS
    command.downgrade(alembic_config(url), "0010")
    _, tables, columns = _inspect(url)
    assert "notice_templates" not in tables
    assert not NEW_COLUMNS & columns
    assert "calls_idempotency" in columns  # the partial index survives the downgrade
    upgrade(url)
    assert _inspect(url)[0] == []
