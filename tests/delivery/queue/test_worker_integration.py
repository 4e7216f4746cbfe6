"""DialWorker with the real backends around it: RedisQueue after a worker's sudden death,
and the upstream relay as its dialer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.delivery.queue.conftest import redis_or_skip
from tests.delivery.queue.fakes import FakeClock
from voiceotp.client import RetryPolicy
from voiceotp.delivery.audio import PromptLibrary
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.relay import RelayDialer, Upstream
from voiceotp.delivery.queue import CallTicket, Job, MemoryFence, MemoryQueue
from voiceotp.delivery.queue.redis import RedisQueue
from voiceotp.delivery.queue.worker import DialWorker, WorkerSettings
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi


class HangingDialer:
    """Every call rings forever; counts dials."""

    name = "hanging"

    def __init__(self) -> None:
        self.dials = 0
        self.all_in = asyncio.Event()

    async def dial(self, call: CallRequest) -> CallOutcome:
        self.dials += 1
        if self.dials == 2:
            self.all_in.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def redis_queue() -> AsyncIterator[RedisQueue]:
    client = await redis_or_skip()
    queue = RedisQueue(client, prefix=f"voiceotp-test:{uuid.uuid4().hex}", group="dialers")
    await queue.setup()
    yield queue
    await client.delete(queue.stream, queue.delayed, queue.dead)
    await queue.aclose()


async def test_calls_of_a_killed_worker_end_canceled_and_are_never_dialed_again(
    redis_queue: RedisQueue, prompts: PromptLibrary
) -> None:
    fence = MemoryFence()
    for call_id in ("1", "2"):
        fence.add(CallTicket(call_id, "13800138000", "1125"))
        await redis_queue.enqueue(Job(call_id, time.time() + 300))
    victim_dialer = HangingDialer()
    victim = DialWorker(
        queue=redis_queue,
        fence=fence,
        dialer=victim_dialer,
        prompts=prompts,
        settings=WorkerSettings("victim", poll_s=0.1),
    )
    runner = asyncio.create_task(victim.run())
    await victim_dialer.all_in.wait()
    # "kill -9": the worker vanishes mid-call; no ack, no finish, no dialer.aclose().
    # (Its poll loop is ended by the flag, not by cancelling it inside redis-py's blocking
    # XREADGROUP, which is not what a killed process does.)
    victim._stopping.set()
    await runner
    calls = list(victim._tasks)
    for task in calls:
        task.cancel()
    await asyncio.wait(calls)
    assert await redis_queue.pending_count() == 2
    assert {row.state for row in fence.rows.values()} == {"dialing"}

    # A worker started later (its clock is past the victim's fence lease) takes over.
    later = time.time() + 1000
    survivor_dialer = HangingDialer()
    survivor = DialWorker(
        queue=redis_queue,
        fence=fence,
        dialer=survivor_dialer,
        prompts=prompts,
        settings=WorkerSettings("survivor", stale_after_s=0.0),
        clock=lambda: later,
    )
    assert await survivor.poll_once() == 2
    await survivor.stop(grace_s=5.0)
    assert survivor_dialer.dials == 0
    for row in fence.rows.values():
        assert [(n, o.status, o.detail) for n, o in row.outcomes] == [
            (1, CallStatus.CANCELED, "dialer lost mid-call")
        ]
    assert await redis_queue.pending_count() == 0


async def test_the_worker_relays_the_code_to_an_upstream(prompts: PromptLibrary) -> None:
    clock = FakeClock()
    upstream = FakeIhuyi()
    queue, fence = MemoryQueue(clock=clock, sleep=clock.sleep), MemoryFence()
    fence.add(CallTicket("9", "13800138000", "482913"))
    await queue.enqueue(Job("9", clock() + 300))
    async with upstream.serve() as server:
        relay = RelayDialer(
            [Upstream("ihuyi", server.url, DEFAULT_ACCOUNT, DEFAULT_APIKEY)],
            retry=RetryPolicy.never(),
            clock=clock,
        )
        worker = DialWorker(
            queue=queue,
            fence=fence,
            dialer=relay,
            prompts=prompts,
            settings=WorkerSettings("w"),
            clock=clock,
            sleep=clock.sleep,
        )
        runner = asyncio.create_task(worker.run())
        await queue.join()
        await worker.stop(grace_s=5.0)
        await runner
    [(attempt, outcome)] = fence.rows["9"].outcomes
    assert (attempt, outcome.status) == (1, CallStatus.RELAYED)
    assert [(c.mobile, c.content) for c in upstream.calls] == [("13800138000", "482913")]
