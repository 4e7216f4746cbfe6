"""SqlFence's one-transaction finish (call record, charge, outbox), and the sweep."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.delivery.queue.sqlstores import NOW, add_account, add_call
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.dialer.base import MediaQuality
from voiceotp.delivery.fence import _LOCK_CALL, LockedCall, SqlFence
from voiceotp.delivery.notify.sqloutbox import SqlOutbox
from voiceotp.delivery.queue import CallTicket, ClaimVerdict, Job
from voiceotp.delivery.sweep import Sweeper
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store
from voiceotp.store.keys import ERASED_MARK, KeyBox
from voiceotp.store.rows import Tx
from voiceotp.store.verify import INSERT_CODE, PENDING, SEALED_CODE

ANSWERED = CallOutcome(
    CallStatus.ANSWERED, 200, 16, NOW + 1, NOW + 2, NOW + 4, NOW + 14, 10.0, "heard it"
)
BUSY = CallOutcome(CallStatus.BUSY, 486, 17, NOW + 1, NOW + 2, None, NOW + 3, 0.0)
NO_ANSWER = CallOutcome(CallStatus.NO_ANSWER, 487, 19, NOW + 1, NOW + 2, None, NOW + 32, 0.0)
HOOK = "http://127.0.0.1:9/hook"


def ticket(call_id: str) -> CallTicket:
    return CallTicket(call_id, "13800138000", "1125")


def test_the_locked_call_names_the_columns_it_is_read_from() -> None:
    """LockedCall's fields are the columns the fence's lock selects, in their order."""
    select = _LOCK_CALL.split(" FROM calls c ")[0].removeprefix("SELECT ")
    columns = [c.split(" AS ")[-1].split(".")[-1].strip() for c in select.split(",")]
    assert tuple(columns) == LockedCall._fields


async def dialed(fence: SqlFence, call_id: str, attempt: int = 1, now: float = NOW) -> None:
    claim = await fence.claim_for_dialing(
        call_id, attempt=attempt, worker="w1", now=now, lease_s=60
    )
    assert claim.verdict is ClaimVerdict.GRANTED


async def test_finish_records_the_attempt_keeps_the_unit_and_queues_the_report(
    sql_store: Store, db_settings: Settings
) -> None:
    account_id = await add_account(sql_store, db_settings, callback=HOOK)
    await add_call(sql_store, ticket("11"), account_id=account_id)
    fence = SqlFence(sql_store, refund_unconnected=True)
    await dialed(fence, "11")
    assert await fence.finish("11", ANSWERED, attempt=1)

    call = await sql_store.get_call("11")
    assert call is not None
    assert (call.state, call.sip_code, call.attempts, call.duration) == ("ANSWERED", 200, 1, 10)
    assert (call.answer_time, call.end_time) == (NOW + 4, NOW + 14)
    [record] = await fence.attempts("11")
    assert (record.status, record.sip_code, record.q850, record.worker) == (
        "ANSWERED",
        200,
        16,
        "w1",
    )
    assert (record.invite_at, record.ring_at, record.answer_at) == (NOW + 1, NOW + 2, NOW + 4)
    assert await sql_store.get_balance(account_id) == 9  # answered: the unit is kept
    outbox = SqlOutbox(sql_store)
    item = await outbox.get("11-1")
    assert item is not None
    assert (item.account, item.callback_url, item.report.status) == ("V1", HOOK, "ANSWERED")
    assert (item.report.answer_time, item.report.duration) == (int(NOW + 4), 10)
    assert await sql_store.consistency_problems() == []


@pytest.mark.parametrize(("server", "account", "refunded"), [
    (True, None, True), (False, None, False), (False, True, True), (True, False, False),
])  # fmt: skip
async def test_unconnected_calls_are_refunded_per_the_accounts_policy(
    sql_store: Store, db_settings: Settings, server: bool, account: bool | None, refunded: bool
) -> None:
    account_id = await add_account(sql_store, db_settings)
    if account is not None:
        await sql_store.update_account("V1", refund_unconnected=account)
    await add_call(sql_store, ticket("12"), account_id=account_id)
    fence = SqlFence(sql_store, refund_unconnected=server)
    await dialed(fence, "12")
    assert await fence.finish("12", BUSY, attempt=1)
    assert await sql_store.get_balance(account_id) == (10 if refunded else 9)
    assert await sql_store.consistency_problems() == []
    assert await SqlOutbox(sql_store).get("12-1") is None  # no callback URL: no report


@pytest.mark.parametrize("account", [None, False])
async def test_a_call_that_never_left_is_refunded_whatever_the_policy(
    sql_store: Store, db_settings: Settings, account: bool | None
) -> None:
    """Every upstream of the relay refused it: nothing was spent, nobody was called."""
    account_id = await add_account(sql_store, db_settings)
    if account is not None:
        await sql_store.update_account("V1", refund_unconnected=account)
    await add_call(sql_store, ticket("13"), account_id=account_id)
    fence = SqlFence(sql_store)  # the server's default: keep the unit of unconnected calls
    await dialed(fence, "13")
    refused = CallOutcome(
        CallStatus.FAILED, None, None, end_at=NOW + 1, detail="no upstream accepted: a: code 0"
    )
    assert await fence.finish("13", replace(refused, never_left=True), attempt=1)
    assert await sql_store.get_balance(account_id) == 10
    assert await sql_store.consistency_problems() == []


async def test_a_redial_keeps_one_record_per_attempt(
    sql_store: Store, db_settings: Settings
) -> None:
    account_id = await add_account(sql_store, db_settings, callback=HOOK)
    await add_call(sql_store, ticket("13"), account_id=account_id)
    fence = SqlFence(sql_store)
    await dialed(fence, "13")
    assert await fence.requeue("13", NO_ANSWER, attempt=1, not_before=NOW + 62)
    queued = await sql_store.get_call("13")
    assert queued is not None
    assert (queued.state, queued.sip_code) == ("queued", 487)
    await dialed(fence, "13", attempt=2, now=NOW + 62)
    assert await fence.finish("13", ANSWERED, attempt=2)
    records = await fence.attempts("13")
    assert [(r.attempt, r.status) for r in records] == [(1, "NO_ANSWER"), (2, "ANSWERED")]
    assert [r.dialer for r in records] == [None, None]  # these outcomes name no dialer
    assert await SqlOutbox(sql_store).get("13-2") is not None
    assert await SqlOutbox(sql_store).get("13-1") is None  # only the final status is pushed


async def test_each_attempt_record_keeps_the_dialer_that_placed_it(
    sql_store: Store, db_settings: Settings
) -> None:
    account_id = await add_account(sql_store, db_settings)
    await add_call(sql_store, ticket("14"), account_id=account_id)
    fence = SqlFence(sql_store)
    await dialed(fence, "14")
    first = replace(NO_ANSWER, dialer="sip:trunk.example.net")
    assert await fence.requeue("14", first, attempt=1, not_before=NOW + 62)
    await dialed(fence, "14", attempt=2, now=NOW + 62)
    assert await fence.finish("14", replace(ANSWERED, dialer="relay:backup"), attempt=2)
    records = await fence.attempts("14")
    assert [(r.attempt, r.dialer, r.worker) for r in records] == [
        (1, "sip:trunk.example.net", "w1"),
        (2, "relay:backup", "w1"),
    ]


async def test_each_attempt_record_keeps_its_rtp_statistics_as_columns(
    sql_store: Store, db_settings: Settings
) -> None:
    account_id = await add_account(sql_store, db_settings)
    await add_call(sql_store, ticket("15"), account_id=account_id)
    fence = SqlFence(sql_store)
    await dialed(fence, "15")
    assert await fence.requeue("15", NO_ANSWER, attempt=1, not_before=NOW + 62)
    await dialed(fence, "15", attempt=2, now=NOW + 62)
    media = MediaQuality(received=498, lost=2, jitter_ms=0.44, callee_lost=3, callee_jitter_ms=1.0)
    assert await fence.finish("15", replace(ANSWERED, media=media), attempt=2)
    first, second = await fence.attempts("15")
    assert (first.rtp_in_packets, first.rtp_in_lost, first.rtp_out_lost) == (None, None, None)
    assert (second.rtp_in_packets, second.rtp_in_lost, second.rtp_in_jitter_ms) == (498, 2, 0.44)
    assert (second.rtp_out_lost, second.rtp_out_jitter_ms) == (3, 1.0)


async def test_the_sweep_expires_cancels_orphans_and_finds_lost_jobs(
    sql_store: Store, db_settings: Settings
) -> None:
    account_id = await add_account(sql_store, db_settings, callback=HOOK)
    await add_call(sql_store, ticket("21"), account_id=account_id, deadline=NOW + 10)  # expires
    await add_call(sql_store, ticket("22"), account_id=account_id)  # dialed, its dialer dies
    await add_call(sql_store, ticket("23"), account_id=account_id)  # job lost
    await add_call(sql_store, ticket("24"), account_id=account_id, created_at=NOW + 50)  # fresh
    fence = SqlFence(sql_store, refund_unconnected=True)
    await dialed(fence, "22")  # lease until NOW + 60
    sweeper = Sweeper(fence, requeue_after_s=30)

    result = await sweeper.sweep(NOW + 61)

    assert result.expired == ["21"]
    assert result.canceled == ["22"]
    assert result.lost == [Job("23", NOW + 300, 1)]
    states = {v: (await sql_store.get_call(v)).state for v in ("21", "22", "23", "24")}  # type: ignore[union-attr]
    assert states == {"21": "EXPIRED", "22": "CANCELED", "23": "queued", "24": "queued"}
    assert await sql_store.get_balance(account_id) == 10 - 4 + 2  # both never connected
    assert await sql_store.consistency_problems() == []
    assert [(r.status, r.dialer) for r in await fence.attempts("22")] == [("CANCELED", None)]
    claim = await fence.claim_for_dialing("22", attempt=2, worker="w2", now=NOW + 62, lease_s=9)
    assert claim.verdict is ClaimVerdict.SETTLED  # never dialed again
    again = await sweeper.sweep(NOW + 62)
    assert (again.expired, again.lost) == ([], [])  # "23" was re-enqueued just now
    later = (await sweeper.sweep(NOW + 92)).lost
    assert later == [Job("23", NOW + 300, 1), Job("24", NOW + 300, 1)]


async def test_a_restarted_worker_ends_its_own_calls_at_once(
    sql_store: Store, db_settings: Settings
) -> None:
    account_id = await add_account(sql_store, db_settings)
    for call_id in ("31", "32"):
        await add_call(sql_store, ticket(call_id), account_id=account_id)
    fence = SqlFence(sql_store)
    await dialed(fence, "31")  # held by w1, lease still live
    assert await Sweeper(fence).cancel_orphans(NOW + 1, worker="w1") == ["31"]
    assert await Sweeper(fence).cancel_orphans(NOW + 1) == []
    call = await sql_store.get_call("32")
    assert call is not None
    assert call.state == "queued"


async def test_operators_set_and_clear_an_accounts_charge_policy(
    sql_store: Store, db_settings: Settings
) -> None:
    from voiceotp.gateway.admin import Admin, AdminError
    from voiceotp.store.keys import KeyBox

    await add_account(sql_store, db_settings)
    admin = Admin(sql_store, KeyBox(db_settings.secret_key), lambda: NOW)
    assert (await admin.describe("V1"))["refund_unconnected"] is None
    await admin.configure("V1", refund_unconnected=True)
    assert (await admin.describe("V1"))["refund_unconnected"] is True
    await admin.configure("V1", refund_unconnected=None)
    assert (await admin.describe("V1"))["refund_unconnected"] is None
    with pytest.raises(AdminError):
        await admin.configure("V1", refund_unconnected="yes")


async def test_the_sweep_never_expires_a_call_a_worker_just_claimed(
    sql_store: Store, db_settings: Settings
) -> None:
    account_id = await add_account(sql_store, db_settings)
    await add_call(sql_store, ticket("41"), account_id=account_id, deadline=NOW + 10)
    fence = SqlFence(sql_store)
    await dialed(fence, "41")  # claimed just before its deadline (or on a clock behind ours)
    expired = CallOutcome(CallStatus.EXPIRED, None, None, end_at=NOW + 11)
    assert not await fence.finish("41", expired, attempt=1, from_states=("queued",))
    assert await Sweeper(fence).expire(NOW + 11) == []
    call = await sql_store.get_call("41")
    assert call is not None
    assert call.state == "dialing"  # the worker ends it


async def test_a_verify_call_is_claimed_with_its_opened_code_and_finished_sealed_code_erased(
    sql_store: Store, db_settings: Settings
) -> None:
    """A Verify's call has no digits on its row: the claim takes the transaction that opens
    the sealed code; the finish erases both the sealed code and nothing else's."""
    keybox = KeyBox(db_settings.secret_key)
    account_id = await add_account(sql_store, db_settings)
    await add_call(sql_store, CallTicket("12", "13800138000", ""), account_id=account_id)
    await add_call(sql_store, ticket("13"), account_id=account_id)  # a plain code call

    async def seal(tx: Tx) -> None:
        await tx.execute(
            INSERT_CODE, 12, account_id, "13800138000", "s", "m", keybox.seal("4321"),
            PENDING, 5, NOW, NOW + 300,
        )  # fmt: skip

    await sql_store.transact(seal)
    fence = SqlFence(sql_store, keybox=keybox)
    claim = await fence.claim_for_dialing("12", attempt=1, worker="w1", now=NOW, lease_s=60)
    assert claim.verdict is ClaimVerdict.GRANTED
    assert claim.ticket is not None
    assert claim.ticket.code == "4321"
    plain = await fence.claim_for_dialing("13", attempt=1, worker="w1", now=NOW, lease_s=60)
    assert plain.ticket is not None
    assert plain.ticket.code == "1125"
    again = await fence.claim_for_dialing("13", attempt=1, worker="w2", now=NOW, lease_s=60)
    assert again.verdict is ClaimVerdict.IN_FLIGHT  # the one-statement claim is the fence too

    assert await fence.finish("12", BUSY, attempt=1)
    assert await fence.finish("13", BUSY, attempt=1)
    [[sealed]] = await sql_store.read(SEALED_CODE, 12)
    assert sealed is None
    rows = await sql_store.read("SELECT content, notice_text FROM calls ORDER BY voiceid")
    assert [str(r[0]).startswith(ERASED_MARK) or r[0] == "" for r in rows] == [True, True]
    assert "1125" not in {str(r[0]) for r in rows}
    assert fence.codes_erased == 1  # "13" had digits on its row; "12" none
