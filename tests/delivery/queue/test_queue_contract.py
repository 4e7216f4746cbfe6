"""One contract for every Queue backend (MemoryQueue, RedisQueue, StoreQueue)."""

from __future__ import annotations

import pytest

from tests.delivery.queue.fakes import FakeClock
from voiceotp.delivery.queue import Job, MemoryQueue, Queue, decode_job, encode_job

DEADLINE = 1_700_000_300.0


def _job(call_id: str = "60495654", **changes: float) -> Job:
    return Job(call_id, DEADLINE, **changes)  # type: ignore[arg-type]


def test_jobs_survive_their_wire_format() -> None:
    job = Job("60495654", 1_700_000_300.25, attempt=2, not_before=1_700_000_030.5)
    assert decode_job(encode_job(job)) == job


async def test_a_job_is_delivered_once_then_acked(queue: Queue) -> None:
    job = _job(attempt=2)
    await queue.enqueue(job)
    [delivery] = await queue.receive("w1", count=10)
    assert (delivery.job, delivery.deliveries) == (job, 1)
    assert await queue.receive("w2", count=10) == []
    assert await queue.pending_count() == 1
    await queue.ack(delivery)
    assert await queue.pending_count() == 0
    assert await queue.claim_stale("w2", idle_s=0) == []


@pytest.mark.not_for_store_queue(
    "its jobs are the calls' rows; an ack ends the lease, and a row still queued (no worker "
    "claimed it in the fence) is handed out again (see delivery/queue/store.py)"
)
async def test_an_acked_job_is_never_delivered_again(queue: Queue, clock: FakeClock) -> None:
    await queue.enqueue(_job())
    [delivery] = await queue.receive("w1")
    await queue.ack(delivery)
    clock.advance(3600)
    assert await queue.receive("w1", count=10) == []
    assert await queue.claim_stale("w2", idle_s=0) == []


async def test_receive_takes_at_most_count_in_order(queue: Queue) -> None:
    for n in range(5):
        await queue.enqueue(_job(f"call-{n}"))
    first = await queue.receive("w1", count=2)
    rest = await queue.receive("w2", count=10)
    assert [d.job.call_id for d in first] == ["call-0", "call-1"]
    assert [d.job.call_id for d in rest] == ["call-2", "call-3", "call-4"]


async def test_a_delayed_job_waits_for_its_time(queue: Queue, clock: FakeClock) -> None:
    job = _job(attempt=2, not_before=clock() + 30)
    await queue.enqueue(job)
    assert await queue.receive("w1") == []
    clock.advance(29.9)
    assert await queue.receive("w1") == []
    clock.advance(0.1)
    [delivery] = await queue.receive("w1")
    assert delivery.job == job


async def test_an_empty_blocking_receive_returns_nothing(queue: Queue) -> None:
    assert await queue.receive("w1", block_s=0.05) == []


async def test_jobs_of_a_dead_consumer_are_claimed_with_a_delivery_count(queue: Queue) -> None:
    await queue.enqueue(_job())
    [lost] = await queue.receive("dead-worker")
    assert await queue.claim_stale("w2", idle_s=3600) == []  # not idle long enough
    [claimed] = await queue.claim_stale("w2", idle_s=0)
    assert (claimed.job, claimed.receipt, claimed.deliveries) == (lost.job, lost.receipt, 2)
    [again] = await queue.claim_stale("w3", idle_s=0)
    assert again.deliveries == 3
    await queue.ack(again)
    assert await queue.pending_count() == 0


async def test_extend_keeps_the_lease_without_counting_a_delivery(queue: Queue) -> None:
    await queue.enqueue(_job())
    [delivery] = await queue.receive("w1")
    await queue.extend(delivery)
    await queue.extend(delivery)
    [claimed] = await queue.claim_stale("w2", idle_s=0)
    assert claimed.deliveries == 2
    await queue.ack(claimed)
    await queue.extend(claimed)  # extending an acked job is harmless
    assert await queue.pending_count() == 0


async def test_dead_letters_are_parked_and_never_redelivered(queue: Queue) -> None:
    await queue.enqueue(_job("poison"))
    [delivery] = await queue.receive("w1")
    await queue.dead_letter(delivery, "crashed 5 workers")
    assert await queue.dead_letters() == [(delivery.job, "crashed 5 workers")]
    assert await queue.pending_count() == 0
    assert await queue.receive("w1") == []
    assert await queue.claim_stale("w1", idle_s=0) == []


async def test_memory_join_waits_for_acks_of_delayed_jobs_too(clock: FakeClock) -> None:
    queue = MemoryQueue(clock=clock, sleep=clock.sleep)
    await queue.join()  # empty: returns at once
    await queue.enqueue(_job("a"))
    await queue.enqueue(_job("b", not_before=clock() + 30))
    [a] = await queue.receive("w")
    await queue.ack(a)
    assert not queue._drained.is_set()  # "b" is still waiting
    clock.advance(30)
    [b] = await queue.receive("w")
    await queue.ack(b)
    await queue.join()
