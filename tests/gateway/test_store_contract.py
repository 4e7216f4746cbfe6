"""One contract for every Store: SQLite and PostgreSQL run the same tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from voiceotp.store import (
    Acceptance,
    AcceptStatus,
    KeyUse,
    Store,
    StoreError,
    refund_due,
)
from voiceotp.store.batch import plan_batch
from voiceotp.store.voiceids import TAG_BITS, IdPool, VoiceIdMint

NOW = 1_700_000_000.0


@pytest.fixture
async def opened(store: Store) -> AsyncIterator[Store]:
    await store.open()
    yield store
    await store.close()


async def new_account(store: Store, name: str = "V20000001", balance: int = 10) -> int:
    account = await store.create_account(name=name, apikey_enc="sealed", now=NOW, balance=balance)
    return account.id


def acceptance(account_id: int, mobile: str = "13800138000", key: str | None = None) -> Acceptance:
    return Acceptance(account_id, mobile, "1125", NOW, NOW + 300, idem_key=key)


async def test_account_round_trip(opened: Store) -> None:
    before = await opened.policy_version()
    account_id = await new_account(opened)
    account = await opened.update_account(
        "V20000001", state="frozen", allow_ips=["10.0.0.0/8", "192.0.2.1"], cap_minute=3
    )
    assert account.id == account_id
    assert account.state == "frozen"
    assert account.allow_ips == ("10.0.0.0/8", "192.0.2.1")
    assert account.cap_minute == 3
    assert account.cap_hour is None
    assert account.version == 2
    assert await opened.policy_version() > before
    assert await opened.get_account("V99999999") is None
    with pytest.raises(StoreError):
        await opened.update_account("V20000001", balance=5)
    with pytest.raises(StoreError):
        await opened.update_account("V99999999", state="frozen")


async def test_balance_never_below_zero_and_ledger_matches(opened: Store) -> None:
    account_id = await new_account(opened, balance=3)
    assert await opened.adjust_balance(account_id, 7, "topup", NOW) == 10
    with pytest.raises(StoreError):
        await opened.adjust_balance(account_id, -11, "adjust", NOW)
    assert await opened.get_balance(account_id) == 10
    assert await opened.ledger_sum(account_id) == 10


async def test_blacklists_and_policy(opened: Store) -> None:
    account_id = await new_account(opened)
    await opened.set_blacklisted(account_id, "13911112222", True)
    await opened.set_blacklisted(account_id, "13911112222", True)  # idempotent
    account = await opened.get_account("V20000001")
    assert account is not None
    assert account.blacklist == {"13911112222"}
    await opened.set_blacklisted(account_id, "13911112222", False)
    await opened.set_policy_entry("deny_ip", "192.0.2.66", True)
    await opened.set_policy_entry("sensitive_word", "110", True)
    entries = await opened.policy_entries()
    assert entries["deny_ip"] == {"192.0.2.66"}
    assert entries["sensitive_word"] == {"110"}
    with pytest.raises(StoreError):
        await opened.set_policy_entry("nonsense", "x", True)


async def test_accept_holds_one_unit_and_queues(opened: Store) -> None:
    account_id = await new_account(opened, balance=1)
    first = await opened.accept(acceptance(account_id))
    assert first.status is AcceptStatus.ACCEPTED
    assert first.voiceid.isdigit()
    second = await opened.accept(acceptance(account_id, "13800138001"))
    assert second.status is AcceptStatus.NO_BALANCE
    assert second.voiceid == "0"
    assert await opened.get_balance(account_id) == 0
    assert await opened.ledger_sum(account_id) == 0
    call = await opened.get_call(first.voiceid)
    assert call is not None
    assert call.state == "queued"
    assert call.deadline == NOW + 300
    assert await opened.count_calls(account_id) == 1


async def test_concurrent_accepts_are_batched_and_exact(opened: Store) -> None:
    account_id = await new_account(opened, balance=50)
    outcomes = await asyncio.gather(
        *(opened.accept(acceptance(account_id, f"1380013{i:04d}")) for i in range(200))
    )
    accepted = [o for o in outcomes if o.status is AcceptStatus.ACCEPTED]
    assert len(accepted) == 50
    assert len({o.voiceid for o in accepted}) == 50
    assert await opened.get_balance(account_id) == 0
    assert await opened.ledger_sum(account_id) == 0
    assert await opened.count_calls(account_id) == 50


async def test_idempotency_key_replays_inside_and_across_batches(opened: Store) -> None:
    account_id = await new_account(opened)
    together = await asyncio.gather(
        *(opened.accept(acceptance(account_id, key="k")) for _ in range(3))
    )
    assert [o.status for o in together].count(AcceptStatus.ACCEPTED) == 1
    assert len({o.voiceid for o in together}) == 1
    later = await opened.accept(acceptance(account_id, key="k"))
    assert later.status is AcceptStatus.REPLAY
    assert later.voiceid == together[0].voiceid
    found = await opened.find_idempotent(account_id, "k")
    assert found == KeyUse(later.voiceid, "13800138000", "1125")
    assert await opened.get_balance(account_id) == 9
    assert await opened.count_calls() == 1


async def test_recent_calls_and_audit(opened: Store) -> None:
    account_id = await new_account(opened)
    await opened.accept(acceptance(account_id))
    assert await opened.recent_calls(NOW - 1) == [(account_id, "13800138000", NOW)]
    assert await opened.recent_calls(NOW + 1) == []
    await opened.record_audit(account_id=account_id, kind="abuse_freeze", detail="x", now=NOW)
    events = await opened.audit_events(account_id)
    assert [(e.kind, e.detail) for e in events] == [("abuse_freeze", "x")]


async def test_get_call_refuses_garbage_ids(opened: Store) -> None:
    for garbage in ("", "abc", "-1", "9" * 40, "9" * 19, str(2**63), "１２３", "1" * 5000):
        assert await opened.get_call(garbage) is None


def test_voiceids_are_unique_increasing_and_keyed() -> None:
    mint = VoiceIdMint(b"k")
    ids = [mint.voiceid(n) for n in range(1, 5001)]
    assert ids == sorted(set(ids))  # increasing: rows append to the table's last pages
    assert all(0 < i < 2**63 for i in ids)
    tags = [i & ((1 << TAG_BITS) - 1) for i in ids]
    assert len(set(tags)) > 4990  # a neighbour's tag is not its neighbour's plus one
    assert [i >> TAG_BITS for i in ids] == list(range(1, 5001))
    assert VoiceIdMint(b"other").voiceid(1) != ids[0]  # the tag needs the server key
    with pytest.raises(ValueError):
        mint.voiceid(2 ** (62 - TAG_BITS))


def test_id_pool_needs_reservation() -> None:
    pool = IdPool(VoiceIdMint(b"k"))
    assert pool.shortfall(1) == IdPool.BLOCK
    with pytest.raises(RuntimeError):
        pool.take()
    pool.add_block(IdPool.BLOCK, IdPool.BLOCK)
    assert pool.shortfall(IdPool.BLOCK) == 0
    assert pool.shortfall(IdPool.BLOCK + 1) == IdPool.BLOCK


def test_plan_batch_orders_replays_holds_and_refusals() -> None:
    items = [acceptance(1, key="a"), acceptance(1, key="a"), acceptance(1), acceptance(2)]
    plan = plan_batch(items, {1: 1, 2: 0}, {}, iter([11, 12, 13]))
    statuses = [o.status for o in plan.outcomes]
    assert statuses == [
        AcceptStatus.ACCEPTED,
        AcceptStatus.REPLAY,
        AcceptStatus.NO_BALANCE,
        AcceptStatus.NO_BALANCE,
    ]
    assert plan.outcomes[1].voiceid == "11"
    assert plan.debits == {1: 1}
    stored = plan_batch(
        [acceptance(1, key="a")], {1: 5}, {(1, "a"): KeyUse("99", "13800138000", "1125")}, iter([1])
    )
    assert stored.outcomes[0].voiceid == "99"
    assert not stored.new_calls


async def test_consistency_check_sees_a_broken_ledger(opened: Store) -> None:
    account_id = await new_account(opened, balance=5)
    await opened.accept(acceptance(account_id))
    assert await opened.consistency_problems() == []

    async def corrupt(tx: Any) -> None:
        await tx.execute("UPDATE accounts SET balance = balance + 1 WHERE id = $1", account_id)

    await opened.transact(corrupt)
    assert await opened.consistency_problems() == ["V20000001: balance 5 != ledger 4"]


def test_charge_policy() -> None:
    assert not refund_due("BUSY", refund_unconnected=False)
    assert refund_due("NO_ANSWER", refund_unconnected=True)
    assert not refund_due("ANSWERED", refund_unconnected=True)
