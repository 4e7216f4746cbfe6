"""The web faces' tables on both stores: users, sessions, throttling, audit, migration."""

from __future__ import annotations

import pytest
from alembic import command

from voiceotp.errors import StoreError
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store
from voiceotp.store import web as db
from voiceotp.store.migrate import alembic_config, upgrade


async def test_users_and_sessions(store: Store) -> None:
    await store.open()
    try:
        user = await db.create_web_user(
            store, kind="operator", login="alice", password_hash="h", role="admin", now=1.0
        )
        with pytest.raises(StoreError):
            await db.create_web_user(
                store, kind="operator", login="alice", password_hash="h", role="admin", now=1.0
            )
        # the same login as another kind of user is another user
        await db.create_web_user(
            store, kind="customer", login="alice", password_hash="h", role="owner", now=1.0
        )
        await db.create_session(
            store, token_hash="t1", user_id=user.id, csrf="c", ip="::1", now=5.0
        )
        session = await db.get_session(store, token_hash="t1")
        assert session is not None
        assert session.user.login == "alice"
        assert session.csrf == "c"
        await db.touch_session(store, token_hash="t1", now=9.0)
        assert (await db.get_session(store, token_hash="t1")).seen_at == 9.0  # type: ignore[union-attr]
        await db.revoke_session(store, user_id=user.id)
        assert await db.get_session(store, token_hash="t1") is None
        await db.create_session(store, token_hash="t2", user_id=user.id, csrf="c", ip="", now=7.0)
        await db.prune_sessions(store, created_before=6.0)
        assert await db.get_session(store, token_hash="t2") is not None
        await db.prune_sessions(store, created_before=8.0)
        assert await db.get_session(store, token_hash="t2") is None
        await db.update_web_user(store, user_id=user.id, language="en")
        assert (await db.get_web_user(store, kind="operator", login="alice")).language == "en"  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_throttling_locks_after_the_limit_and_forgets_old_failures(store: Store) -> None:
    await store.open()
    try:
        limits = {"window_s": 60.0, "limit": 3, "lock_s": 600.0}
        for now in (0.0, 1.0):
            assert await db.record_signin_failure(store, key="k", now=now, **limits) == 0.0
        assert await db.record_signin_failure(store, key="k", now=2.0, **limits) == 602.0
        assert await db.signin_locked_until(store, key="k") == 602.0
        await db.clear_signin_failures(store, key="k")
        assert await db.signin_locked_until(store, key="k") == 0.0
        for now in (0.0, 1.0, 100.0):  # the third is outside the window: a new count
            assert await db.record_signin_failure(store, key="j", now=now, **limits) == 0.0
    finally:
        await store.close()


async def test_audit_entries_newest_first_by_target(store: Store) -> None:
    await store.open()
    try:
        for i, target in enumerate(["V1", "V2", "V1"]):
            await db.write_audit(
                store, actor="alice", actor_kind="operator", action=f"a{i}", target=target,
                before="{}", after='{"x": 1}', ip="192.0.2.1", now=float(i),
            )  # fmt: skip
        entries = await db.list_audit(store, target="V1")
        assert [e.action for e in entries] == ["a2", "a0"]
        assert entries[0].ip == "192.0.2.1"
        assert entries[0].after == '{"x": 1}'
        assert [e.action for e in await db.list_audit(store, limit=1)] == ["a2"]
    finally:
        await store.close()


def test_migration_0007_goes_down_and_up_again(settings: Settings) -> None:
    url = settings.effective_database_url
    command.downgrade(alembic_config(url), "0006")
    upgrade(url)


async def test_call_pages_by_status_neither_skip_nor_repeat_ties(store: Store) -> None:
    from voiceotp.store import console as q
    from voiceotp.store.rows import Tx

    await store.open()
    try:
        account = await store.create_account(name="V1", apikey_enc="x", now=0.0)

        async def work(tx: Tx) -> None:
            for voiceid, created in [(11, 5.0), (12, 5.0), (13, 5.0), (14, 6.0), (15, 4.0)]:
                await tx.execute(
                    "INSERT INTO calls (voiceid, account_id, mobile, content, state, "
                    "created_at, deadline, attempts, sip_code, answer_time, end_time, duration, "
                    "not_before) VALUES ($1, $2, '13800138000', '1234', 'BUSY', $3, 0, 0, 0, "
                    "0, 0, 0, 0)",
                    voiceid,
                    account.id,
                    created,
                )

        await store.transact(work)
        seen: list[str] = []
        after = None
        for _ in range(5):
            page = await q.search_calls(
                store, where=q.CallFilter(state="BUSY"), after=after, limit=2
            )
            seen += [row.voiceid for row in page]
            if len(page) < 2:
                break
            after = int(page[-1].voiceid)
        assert seen == ["14", "13", "12", "11", "15"]
    finally:
        await store.close()
