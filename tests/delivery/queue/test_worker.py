"""DialWorker over MemoryQueue + MemoryFence + SimulatedCarrier, all on a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pytest

from tests.delivery.queue.fakes import FakeClock
from voiceotp.delivery.audio import PromptLibrary
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus, SimulatedCarrier
from voiceotp.delivery.dialer.simulated import SimulationProfile
from voiceotp.delivery.queue import CallTicket, Job, MemoryFence, MemoryQueue
from voiceotp.delivery.queue.limits import TrunkLimits
from voiceotp.delivery.queue.middleware import (
    DeadlineCheck,
    Middleware,
    Redial,
    RedialPolicy,
    default_middleware,
)
from voiceotp.delivery.queue.worker import DialWorker, WorkerSettings

ANSWERS = "13800138000"
RINGS_OUT = "13800130487"  # SimulatedCarrier's suffix rules: ...0487 never answers
BUSY = "13800130486"
REJECTS = "13800130603"


@dataclass
class Recording:
    """A Dialer wrapper that records each call's start time and the peak concurrency."""

    inner: SimulatedCarrier
    clock: FakeClock
    starts: list[tuple[str, float]] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    active: int = 0
    peak: int = 0

    @property
    def name(self) -> str:
        return self.inner.name

    async def dial(self, call: CallRequest) -> CallOutcome:
        self.starts.append((call.call_id, self.clock()))
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            return await self.inner.dial(call)
        finally:
            self.active -= 1
            self.ends.append(self.clock())

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Rig:
    clock: FakeClock
    queue: MemoryQueue
    fence: MemoryFence
    dialer: Recording
    worker: DialWorker

    async def submit(self, call_id: str, mobile: str, *, validity_s: float = 300.0) -> Job:
        self.fence.add(CallTicket(call_id, mobile, "1125"))
        job = Job(call_id, self.clock() + validity_s)
        await self.queue.enqueue(job)
        return job

    async def run_until_drained(self) -> None:
        runner = asyncio.create_task(self.worker.run())
        await self.queue.join()
        await self.worker.stop(grace_s=1.0)
        await runner

    def outcomes(self, call_id: str) -> list[tuple[int, CallStatus]]:
        return [(n, o.status) for n, o in self.fence.rows[call_id].outcomes]


def _rig(
    prompts: PromptLibrary,
    limits: TrunkLimits | None = None,
    policy: RedialPolicy | None = None,
    middleware: Sequence[Middleware] | None = None,
) -> Rig:
    clock = FakeClock()
    carrier = SimulatedCarrier(SimulationProfile(), clock=clock, sleep=clock.sleep)
    queue, fence = MemoryQueue(clock=clock, sleep=clock.sleep), MemoryFence()
    dialer = Recording(carrier, clock)
    settings = WorkerSettings("w1", limits=limits or TrunkLimits(), poll_s=1.0)
    worker = DialWorker(
        queue=queue,
        fence=fence,
        dialer=dialer,
        prompts=prompts,
        settings=settings,
        middleware=default_middleware(policy) if middleware is None else middleware,
        clock=clock,
        sleep=clock.sleep,
    )
    return Rig(clock, queue, fence, dialer, worker)


@pytest.fixture
def rig(prompts: PromptLibrary) -> Rig:
    return _rig(prompts)


async def test_an_answered_call_is_dialed_once_and_finished(rig: Rig) -> None:
    await rig.submit("1", ANSWERS)
    await rig.run_until_drained()
    assert rig.outcomes("1") == [(1, CallStatus.ANSWERED)]
    assert rig.fence.rows["1"].state == "done"
    assert [c for c, _ in rig.dialer.starts] == ["1"]
    assert await rig.queue.pending_count() == 0


async def test_an_expired_job_is_never_dialed(rig: Rig) -> None:
    await rig.submit("old", ANSWERS, validity_s=0.0)
    await rig.run_until_drained()
    assert rig.outcomes("old") == [(1, CallStatus.EXPIRED)]
    assert rig.dialer.starts == []
    assert rig.fence.rows["old"].outcomes[0][1].dialer == ""  # no dialer placed it


async def test_each_attempt_names_the_dialer_that_placed_it(rig: Rig) -> None:
    await rig.submit("r", RINGS_OUT)  # no answer, redialed once (the default policy)
    await rig.run_until_drained()
    attempts = [(n, o.status, o.dialer) for n, o in rig.fence.rows["r"].outcomes]
    assert attempts == [
        (1, CallStatus.NO_ANSWER, "simulated"),
        (2, CallStatus.NO_ANSWER, "simulated"),
    ]


async def test_a_duplicated_job_is_dialed_once(rig: Rig) -> None:
    job = await rig.submit("dup", ANSWERS)
    await rig.queue.enqueue(job)  # the same job delivered twice
    await rig.run_until_drained()
    assert rig.outcomes("dup") == [(1, CallStatus.ANSWERED)]
    assert len(rig.dialer.starts) == 1


async def test_a_job_redelivered_after_it_was_finished_is_not_dialed(rig: Rig) -> None:
    await rig.submit("done", ANSWERS)
    await rig.queue.receive("crashed-before-ack")
    # That worker dialed and recorded the call, then died before its ack.
    now = rig.clock()
    await rig.fence.claim_for_dialing("done", attempt=1, worker="x", now=now, lease_s=150)
    answered = CallOutcome(CallStatus.ANSWERED, 200, 16, end_at=now)
    await rig.fence.finish("done", answered, attempt=1)
    rig.clock.advance(60)
    await rig.run_until_drained()
    assert rig.outcomes("done") == [(1, CallStatus.ANSWERED)]
    assert rig.dialer.starts == []
    assert await rig.queue.pending_count() == 0


async def test_a_call_whose_worker_died_mid_call_ends_canceled_not_redialed(rig: Rig) -> None:
    await rig.submit("lost", ANSWERS)
    [_delivery] = await rig.queue.receive("dead-worker")
    now = rig.clock()
    await rig.fence.claim_for_dialing("lost", attempt=1, worker="dead-worker", now=now, lease_s=150)
    rig.clock.advance(151)  # the dead worker's fence lease and queue lease both ran out
    await rig.run_until_drained()
    assert rig.outcomes("lost") == [(1, CallStatus.CANCELED)]
    assert rig.dialer.starts == []


async def test_no_answer_is_redialed_once_after_the_delay(rig: Rig) -> None:
    await rig.submit("ring", RINGS_OUT)
    await rig.run_until_drained()
    assert rig.outcomes("ring") == [(1, CallStatus.NO_ANSWER), (2, CallStatus.NO_ANSWER)]
    (_, _first_start), (_, second_start) = rig.dialer.starts
    assert second_start >= rig.dialer.ends[0] + 30.0
    assert rig.fence.rows["ring"].state == "done"


@pytest.mark.parametrize(
    ("mobile", "status"), [(BUSY, CallStatus.BUSY), (REJECTS, CallStatus.REJECTED)]
)
async def test_busy_and_rejected_are_not_redialed(
    rig: Rig, mobile: str, status: CallStatus
) -> None:
    await rig.submit("x", mobile)
    await rig.run_until_drained()
    assert rig.outcomes("x") == [(1, status)]
    assert len(rig.dialer.starts) == 1


async def test_the_redial_policy_is_configurable(prompts: PromptLibrary) -> None:
    rig = _rig(prompts, policy=RedialPolicy({CallStatus.BUSY: (10.0, 20.0)}))
    await rig.submit("b", BUSY)
    await rig.submit("r", RINGS_OUT)
    await rig.run_until_drained()
    assert [s for _, s in rig.outcomes("b")] == [CallStatus.BUSY] * 3
    assert rig.outcomes("r") == [(1, CallStatus.NO_ANSWER)]


async def test_a_redial_that_would_start_after_the_deadline_is_dropped(rig: Rig) -> None:
    await rig.submit("late", RINGS_OUT, validity_s=40.0)  # 30 s ringing + 30 s wait > 40 s
    await rig.run_until_drained()
    assert rig.outcomes("late") == [(1, CallStatus.NO_ANSWER)]


async def test_the_concurrency_cap_is_respected(prompts: PromptLibrary) -> None:
    rig = _rig(prompts, limits=TrunkLimits(max_concurrent=3, calls_per_s=1000, burst=1000))
    for n in range(10):
        await rig.submit(str(n), ANSWERS)
    await rig.run_until_drained()
    assert rig.dialer.peak == 3
    assert sorted(c for c, _ in rig.dialer.starts) == sorted(str(n) for n in range(10))


async def test_calls_per_second_are_spaced_by_the_token_bucket(prompts: PromptLibrary) -> None:
    rig = _rig(prompts, limits=TrunkLimits(max_concurrent=10, calls_per_s=2.0, burst=1))
    for n in range(6):
        await rig.submit(str(n), ANSWERS)
    await rig.run_until_drained()
    starts = sorted(t for _, t in rig.dialer.starts)
    assert len(starts) == 6
    assert all(b - a >= 0.5 - 1e-9 for a, b in itertools.pairwise(starts))


async def test_a_job_delivered_too_often_is_dead_lettered(rig: Rig) -> None:
    await rig.submit("poison", ANSWERS)
    [delivery] = await rig.queue.receive("w0")
    for _ in range(5):
        [delivery] = await rig.queue.claim_stale("w0", idle_s=0)
    await rig.worker.process(delivery)
    assert [job.call_id for job, _ in await rig.queue.dead_letters()] == ["poison"]
    assert rig.dialer.starts == []


class HangingDialer:
    """Calls last until the dialer is closed; then they end CANCELED (like SipDialer)."""

    name = "hanging"

    def __init__(self) -> None:
        self.entered = 0
        self.closed = asyncio.Event()
        self.all_in = asyncio.Event()
        self.expected = 2

    async def dial(self, call: CallRequest) -> CallOutcome:
        self.entered += 1
        if self.entered == self.expected:
            self.all_in.set()
        await self.closed.wait()
        return CallOutcome(CallStatus.CANCELED, 487, 31, detail="dialer closed")

    async def aclose(self) -> None:
        self.closed.set()


class BrokenDialer:
    name = "broken"

    async def dial(self, call: CallRequest) -> CallOutcome:
        raise RuntimeError("bug")

    async def aclose(self) -> None:
        return None


def _worker_with(rig: Rig, dialer: object) -> DialWorker:
    return DialWorker(
        queue=rig.queue,
        fence=rig.fence,
        dialer=dialer,  # type: ignore[arg-type]
        prompts=rig.worker.prompts,
        settings=rig.worker.settings,
        clock=rig.clock,
        sleep=rig.clock.sleep,
    )


async def _stop_mid_call(rig: Rig, dialer: HangingDialer, hang_up_s: float | None = None) -> None:
    """Two calls ("a" answers, "b" rings out) in flight when the worker is stopped."""
    worker = _worker_with(rig, dialer)
    if hang_up_s is not None:
        worker.settings = replace(worker.settings, hang_up_s=hang_up_s)
    await rig.submit("a", ANSWERS)
    await rig.submit("b", RINGS_OUT)
    runner = asyncio.create_task(worker.run())
    await dialer.all_in.wait()
    await worker.stop(grace_s=0.01)
    await runner


async def test_stop_cancels_calls_in_flight_and_records_them(rig: Rig) -> None:
    await _stop_mid_call(rig, HangingDialer())
    assert rig.outcomes("a") == [(1, CallStatus.CANCELED)]
    assert rig.outcomes("b") == [(1, CallStatus.CANCELED)]  # never redialed
    assert await rig.queue.pending_count() == 0


class DeafDialer(HangingDialer):
    """Ignores aclose(): its calls never end by themselves (a stuck dialer)."""

    async def aclose(self) -> None:
        return None


async def test_stop_ends_calls_a_stuck_dialer_never_returns(rig: Rig) -> None:
    await _stop_mid_call(rig, DeafDialer(), hang_up_s=0.01)
    for call_id in ("a", "b"):
        assert rig.fence.rows[call_id].state == "done"  # nothing left "dialing"
        [(attempt, outcome)] = rig.fence.rows[call_id].outcomes
        assert (attempt, outcome.status) == (1, CallStatus.CANCELED)
        assert "stop grace" in outcome.detail
        assert "did not end the call" in outcome.detail
        assert outcome.dialer == "hanging"  # it placed the call, and never ended it


async def test_calls_hung_up_at_stop_say_so(rig: Rig) -> None:
    await _stop_mid_call(rig, HangingDialer())
    [(_, outcome)] = rig.fence.rows["a"].outcomes
    assert outcome.detail == "gateway stopping: hung up after the 0.01 s stop grace (dialer closed)"
    assert outcome.dialer == "hanging"


async def test_a_dialer_that_raises_ends_the_call_failed(rig: Rig) -> None:
    rig.worker = _worker_with(rig, BrokenDialer())
    await rig.submit("bug", ANSWERS)
    await rig.run_until_drained()
    [(attempt, outcome)] = rig.fence.rows["bug"].outcomes
    assert (attempt, outcome.status, outcome.detail, outcome.dialer) == (
        1,
        CallStatus.FAILED,
        "dialer error: RuntimeError",
        "broken",  # it may have placed the call
    )


class Faulty:
    """A middleware with a bug: its ``hook`` raises for the calls in ``broken``."""

    def __init__(self, hook: str, broken: set[str]) -> None:
        self.hook, self.broken = hook, broken

    def before_dial(self, job: Job, now: float) -> CallOutcome | None:
        if self.hook == "before_dial" and job.call_id in self.broken:
            raise KeyError("bug")
        return None

    def after_dial(self, job: Job, outcome: CallOutcome, now: float) -> Job | None:
        if self.hook == "after_dial" and job.call_id in self.broken:
            raise KeyError("bug")
        return None


async def _drain(rig: Rig) -> None:
    async with asyncio.timeout(10):  # a wedged worker fails the test instead of hanging it
        await rig.run_until_drained()


async def test_a_raising_before_dial_ends_the_call_failed_undialed(
    prompts: PromptLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    rig = _rig(prompts, middleware=[DeadlineCheck(), Faulty("before_dial", {"bad"}), Redial()])
    await rig.submit("bad", ANSWERS)
    await rig.submit("next", ANSWERS)
    await rig.submit("after", RINGS_OUT)
    with caplog.at_level(logging.ERROR, "voiceotp.delivery.queue.middleware"):
        await _drain(rig)
    [(attempt, outcome)] = rig.fence.rows["bad"].outcomes
    assert (attempt, outcome.status) == (1, CallStatus.FAILED)
    assert outcome.detail == "middleware Faulty.before_dial: KeyError"
    assert "bad" not in [c for c, _ in rig.dialer.starts]
    assert any("Faulty.before_dial failed for call bad" in r.getMessage() for r in caplog.records)
    # the worker kept going: the next jobs were dialed (and redialed) as usual
    assert rig.outcomes("next") == [(1, CallStatus.ANSWERED)]
    assert rig.outcomes("after") == [(1, CallStatus.NO_ANSWER), (2, CallStatus.NO_ANSWER)]
    assert await rig.queue.pending_count() == 0


async def test_a_raising_after_dial_means_no_redial(
    prompts: PromptLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    rig = _rig(prompts, middleware=[DeadlineCheck(), Faulty("after_dial", {"bad"}), Redial()])
    await rig.submit("bad", RINGS_OUT)  # would be redialed, but the middleware breaks
    await rig.submit("next", RINGS_OUT)
    with caplog.at_level(logging.ERROR, "voiceotp.delivery.queue.middleware"):
        await _drain(rig)
    assert rig.outcomes("bad") == [(1, CallStatus.NO_ANSWER)]
    assert rig.fence.rows["bad"].state == "done"  # finished normally, not left dialing
    assert [c for c, _ in rig.dialer.starts].count("bad") == 1
    assert any("Faulty.after_dial failed for call bad" in r.getMessage() for r in caplog.records)
    assert rig.outcomes("next") == [(1, CallStatus.NO_ANSWER), (2, CallStatus.NO_ANSWER)]
    assert await rig.queue.pending_count() == 0
