"""StoreQueue (the calls table as the queue) and DialWorker on the SQL fence, end to end
in process on a fake clock."""

from __future__ import annotations

import asyncio

from tests.delivery.queue.fakes import FakeClock
from tests.delivery.queue.sqlstores import NOW, add_account, add_call
from voiceotp.delivery.audio import PromptLibrary
from voiceotp.delivery.dialer import SimulatedCarrier, SimulationProfile
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.queue import CallTicket, Job
from voiceotp.delivery.queue.store import StoreQueue
from voiceotp.delivery.queue.worker import DialWorker, WorkerSettings
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store


def ticket(call_id: str, mobile: str = "13800138000") -> CallTicket:
    return CallTicket(call_id, mobile, "1125")


async def test_due_rows_are_jobs_handed_out_once_until_acked(
    sql_store: Store, db_settings: Settings
) -> None:
    account_id = await add_account(sql_store, db_settings)
    await add_call(sql_store, ticket("1"), account_id=account_id)
    await add_call(sql_store, ticket("2"), account_id=account_id, created_at=NOW + 1)
    clock = FakeClock(NOW + 2)
    queue = StoreQueue(sql_store, clock=clock)
    first = await queue.receive("w", count=5)
    assert [d.job for d in first] == [Job("1", NOW + 300, 1), Job("2", NOW + 300, 1)]
    assert await queue.receive("w", count=5) == []  # leased
    assert await queue.pending_count() == 2
    await queue.ack(first[0])
    again = await queue.receive("w")
    assert [d.job.call_id for d in again] == ["1"]  # still queued: nobody claimed it
    clock.advance(61)
    stale = await queue.claim_stale("w2", idle_s=60)
    assert [(d.job.call_id, d.deliveries) for d in stale] == [("2", 2), ("1", 2)]


async def test_a_requeued_call_is_due_at_its_redial_time(
    sql_store: Store, db_settings: Settings
) -> None:
    account_id = await add_account(sql_store, db_settings)
    await add_call(sql_store, ticket("1"), account_id=account_id)
    clock = FakeClock(NOW)
    queue, fence = StoreQueue(sql_store, clock=clock), SqlFence(sql_store)
    [delivery] = await queue.receive("w")
    await fence.claim_for_dialing("1", attempt=1, worker="w", now=NOW, lease_s=60)
    from tests.delivery.queue.test_sql_delivery import NO_ANSWER

    await fence.requeue("1", NO_ANSWER, attempt=1, not_before=NOW + 30)
    await queue.ack(delivery)
    assert await queue.receive("w") == []
    clock.advance(30)
    [redial] = await queue.receive("w")
    assert redial.job == Job("1", NOW + 300, 2, not_before=NOW + 30)


async def test_enqueue_wakes_a_blocked_receive(sql_store: Store, db_settings: Settings) -> None:
    account_id = await add_account(sql_store, db_settings)
    queue = StoreQueue(sql_store, clock=FakeClock(NOW))
    waiting = asyncio.create_task(queue.receive("w", block_s=30))
    await asyncio.sleep(0.05)
    await add_call(sql_store, ticket("5"), account_id=account_id)
    await queue.enqueue(Job("5", NOW + 300))
    delivered = await asyncio.wait_for(waiting, 5)  # far less than block_s
    assert [d.job.call_id for d in delivered] == ["5"]


async def test_worker_dials_each_call_once_and_records_it(
    sql_store: Store, db_settings: Settings, prompts: PromptLibrary
) -> None:
    account_id = await add_account(sql_store, db_settings)
    mobiles = {"1": "13800138000", "2": "13800130486", "3": "13800130487"}
    for call_id, mobile in mobiles.items():
        await add_call(sql_store, ticket(call_id, mobile), account_id=account_id)
    clock = FakeClock(NOW)
    carrier = SimulatedCarrier(SimulationProfile(), clock=clock, sleep=clock.sleep)
    fence = SqlFence(sql_store, refund_unconnected=True, clock=clock)
    worker = DialWorker(
        queue=StoreQueue(sql_store, clock=clock),
        fence=fence,
        dialer=carrier,
        prompts=prompts,
        settings=WorkerSettings("w", ring_timeout_s=20, poll_s=0.01),
        clock=clock,
        sleep=clock.sleep,
    )
    runner = asyncio.create_task(worker.run())
    for _ in range(2000):
        calls = [await sql_store.get_call(c) for c in mobiles]
        if all(c is not None and c.state not in ("queued", "dialing") for c in calls):
            break
        clock.advance(1)  # the redial after 30 s comes due
        await asyncio.sleep(0.005)
    await worker.stop(grace_s=1)
    await runner
    states = {c: (await sql_store.get_call(c)).state for c in mobiles}  # type: ignore[union-attr]
    assert states == {"1": "ANSWERED", "2": "BUSY", "3": "NO_ANSWER"}
    attempts = {c: [r.status for r in await fence.attempts(c)] for c in mobiles}
    assert attempts == {"1": ["ANSWERED"], "2": ["BUSY"], "3": ["NO_ANSWER", "NO_ANSWER"]}
    assert await sql_store.get_balance(account_id) == 10 - 1  # two never connected: refunded
    assert await sql_store.consistency_problems() == []
