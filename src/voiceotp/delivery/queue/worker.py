"""The dialer worker: jobs in, phone calls out, outcomes recorded.

For each delivered job: fence the call (:meth:`CallFence.claim_for_dialing`), ask the
middleware (deadline -> EXPIRED), render the prompt, wait for the trunk's calls-per-second
bucket, dial, then either requeue a redial or finish the call, and ack. One worker serves
one trunk (one Dialer): it never has more than ``limits.max_concurrent`` calls in flight.

Crash safety comes from the queue and the fence together (docs/delivery.md): a job whose
worker died is claimed again after ``stale_after_s``; the fence then answers ORPHANED
(the call was in flight: it ends CANCELED and is never redialed) or SETTLED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from voiceotp.delivery.audio import AudioError, PromptLibrary
from voiceotp.delivery.dialer.base import (
    CallOutcome,
    CallRequest,
    CallStatus,
    Dialer,
    canonical_row,
)
from voiceotp.delivery.queue.base import CallFence, CallTicket, ClaimVerdict, Delivery, Job, Queue
from voiceotp.delivery.queue.limits import TokenBucket, TrunkLimits
from voiceotp.delivery.queue.middleware import (
    Middleware,
    after_dial,
    before_dial,
    default_middleware,
)
from voiceotp.errors import VoiceOTPError
from voiceotp.protocol import mask_mobile

__all__ = ["DialWorker", "WorkerSettings"]

log = logging.getLogger(__name__)


def _stopped(grace_s: float, detail: str) -> str:
    return f"gateway stopping: hung up after the {grace_s:g} s stop grace ({detail})"


@dataclass(frozen=True)
class WorkerSettings:
    """How one worker behaves; ``name`` must be unique among live workers (it is the
    consumer name in the queue and the lease holder in the fence)."""

    name: str
    limits: TrunkLimits = field(default_factory=TrunkLimits)
    ring_timeout_s: float = 30.0
    max_duration_s: float = 60.0
    poll_s: float = 1.0  # a blocking receive waits this long for a job
    stale_after_s: float = 60.0  # jobs idle this long belonged to a dead worker
    renew_every_s: float = 15.0  # wall time; must stay well below stale_after_s
    max_deliveries: int = 5  # more deliveries than this: dead-letter the job
    lease_margin_s: float = 60.0  # fence lease = ring timeout + call cap + this
    # At stop, after the grace: how long the dialer may take to hang up (a SIP CANCEL or
    # BYE transaction lasts at most 64*T1 = 32 s) and the calls to be recorded.
    hang_up_s: float = 35.0


def _ended(status: CallStatus, now: float, detail: str) -> CallOutcome:
    row = canonical_row(status)
    return CallOutcome(status, row.sip_code, row.q850, end_at=now, detail=detail)


class DialWorker:
    """Consumes ``queue``, fences through ``fence``, dials through ``dialer``."""

    def __init__(
        self,
        *,
        queue: Queue,
        fence: CallFence,
        dialer: Dialer,
        prompts: PromptLibrary,
        settings: WorkerSettings,
        middleware: Sequence[Middleware] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.queue, self.fence, self.dialer, self.prompts = queue, fence, dialer, prompts
        self.settings = settings
        self.middleware = list(middleware) if middleware is not None else default_middleware()
        self._clock, self._sleep = clock, sleep
        limits = settings.limits
        self._bucket = TokenBucket(limits.calls_per_s, limits.burst, clock=clock, sleep=sleep)
        self._tasks: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._next_stale_check = 0.0
        self._runner: asyncio.Task[None] | None = None
        self._claims: dict[asyncio.Task[Any] | None, tuple[str, int]] = {}
        self._hung_up_after: float | None = None  # set once stop() closes the dialer
        self._lease_s = settings.ring_timeout_s + settings.max_duration_s + settings.lease_margin_s

    @property
    def in_flight(self) -> int:
        """Jobs being handled right now."""
        return len(self._tasks)

    # ---- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Handle jobs until :meth:`stop`; survives queue errors (logged, then retried)."""
        self._runner = asyncio.current_task()
        while not self._stopping.is_set():
            try:
                await self.poll_once()
            except Exception:
                log.exception("worker %s: polling the queue failed", self.settings.name)
                await self._sleep(self.settings.poll_s)

    async def poll_once(self) -> int:
        """Wait for a free slot, then start handling up to that many jobs; how many."""
        while self.in_flight >= self.settings.limits.max_concurrent:
            self._slot_freed.clear()
            await self._slot_freed.wait()
            if self._stopping.is_set():
                return 0
        free = self.settings.limits.max_concurrent - self.in_flight
        deliveries = await self._claim_stale(free)
        if len(deliveries) < free:
            block = 0.0 if deliveries else self.settings.poll_s
            name = self.settings.name
            deliveries += await self.queue.receive(
                name, count=free - len(deliveries), block_s=block
            )
        for delivery in deliveries:
            task = asyncio.create_task(self._guarded(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        return len(deliveries)

    async def _claim_stale(self, count: int) -> list[Delivery]:
        now = self._clock()
        if now < self._next_stale_check:
            return []
        self._next_stale_check = now + self.settings.stale_after_s / 4
        stale_s = self.settings.stale_after_s
        return await self.queue.claim_stale(self.settings.name, idle_s=stale_s, count=count)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slot_freed.set()

    async def stop(self, grace_s: float = 30.0) -> None:
        """Stop taking jobs; let calls in flight end within ``grace_s`` (wall time), then
        close the dialer, which hangs up the rest: they end CANCELED, in this process.

        A dialer that still has not returned ``settings.hang_up_s`` later is not waited
        for: its tasks are cancelled and their calls ended CANCELED through the fence, so
        nothing this worker claimed is left ``dialing`` for the sweep to find later."""
        loop = asyncio.get_running_loop()
        end = loop.time() + grace_s
        self._stopping.set()
        self._slot_freed.set()  # wakes a run loop that waits for a free slot
        if self._runner is not None and self._runner is not asyncio.current_task():
            await asyncio.wait({self._runner}, timeout=self.settings.poll_s + grace_s)
        await self._wait_for_tasks(end - loop.time())
        self._hung_up_after = grace_s
        if self._tasks:
            log.warning(
                "worker %s: hanging up %d calls still in flight after the %g s stop grace",
                self.settings.name,
                len(self._tasks),
                grace_s,
            )
        await self._close_dialer()
        await self._wait_for_tasks(self.settings.hang_up_s)
        claimed = [self._claims[t] for t in self._tasks if t in self._claims]
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for call_id, attempt in claimed:
            await self._end_abandoned(call_id, attempt)

    async def _close_dialer(self) -> None:
        try:
            async with asyncio.timeout(self.settings.hang_up_s):
                await self.dialer.aclose()
        except TimeoutError:
            name = self.settings.name
            log.error("worker %s: the dialer did not close in %g s", name, self.settings.hang_up_s)
        except Exception:
            log.exception("worker %s: closing the dialer failed", self.settings.name)

    async def _end_abandoned(self, call_id: str, attempt: int) -> None:
        """End a claimed call whose task had to be cancelled at stop."""
        detail = _stopped(self._hung_up_after or 0.0, "the dialer did not end the call")
        outcome = _ended(CallStatus.CANCELED, self._clock(), detail)
        outcome = replace(outcome, dialer=self.dialer.name)  # it did place the call
        try:
            await self.fence.finish(call_id, outcome, attempt=attempt)
        except Exception:  # the sweep ends it once the lease runs out
            log.exception("worker %s: ending call %s at stop failed", self.settings.name, call_id)

    async def _wait_for_tasks(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        while self._tasks and (left := end - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)

    # ---- one job -----------------------------------------------------------------------

    async def _guarded(self, delivery: Delivery) -> None:
        renewer = asyncio.create_task(self._renew(delivery))
        try:
            await self.process(delivery)
        except Exception:
            # The job stays unacked: it is claimed again after stale_after_s and the fence
            # decides what that means.
            log.exception("worker %s: job %s failed", self.settings.name, delivery.job.call_id)
        finally:
            renewer.cancel()

    async def _renew(self, delivery: Delivery) -> None:
        # Redis measures idle time on the server's wall clock, so renew on wall time too.
        while True:
            await asyncio.sleep(self.settings.renew_every_s)
            try:
                await self.queue.extend(delivery)
            except Exception:
                log.warning("worker %s: lease renewal failed", self.settings.name, exc_info=True)

    async def process(self, delivery: Delivery) -> None:
        """Handle one delivered job to the end (see the module docstring)."""
        job = delivery.job
        if delivery.deliveries > self.settings.max_deliveries:
            log.error("job for call %s delivered %d times", job.call_id, delivery.deliveries)
            await self.queue.dead_letter(delivery, f"delivered {delivery.deliveries} times")
            return
        claim = await self.fence.claim_for_dialing(
            job.call_id,
            attempt=job.attempt,
            worker=self.settings.name,
            now=self._clock(),
            lease_s=self._lease_s,
        )
        if claim.verdict is ClaimVerdict.IN_FLIGHT:
            return  # its holder is alive; we look again after stale_after_s
        if claim.verdict is ClaimVerdict.ORPHANED:
            lost = _ended(CallStatus.CANCELED, self._clock(), "dialer lost mid-call")
            await self.fence.finish(job.call_id, lost, attempt=claim.attempt)
        elif claim.verdict is ClaimVerdict.GRANTED:
            assert claim.ticket is not None
            task = asyncio.current_task()
            self._claims[task] = (job.call_id, job.attempt)  # for stop(): see _end_abandoned
            try:
                await self._attempt(job, claim.ticket)
            finally:
                self._claims.pop(task, None)
        await self.queue.ack(delivery)

    async def _attempt(self, job: Job, ticket: CallTicket) -> None:
        outcome = before_dial(self.middleware, job, self._clock()) or await self._dial(job, ticket)
        grace_s = self._hung_up_after
        if grace_s is not None and outcome.status is CallStatus.CANCELED:
            outcome = replace(outcome, detail=_stopped(grace_s, outcome.detail or "dialer closed"))
        follow = after_dial(self.middleware, job, outcome, self._clock())
        log.info(
            "call %s to %s attempt %d: %s%s",
            job.call_id,
            mask_mobile(ticket.mobile),
            job.attempt,
            outcome.status,
            f", redial at {follow.not_before:.0f}" if follow else "",
        )
        if follow is None:
            await self.fence.finish(job.call_id, outcome, attempt=job.attempt)
            return
        nb = follow.not_before
        if await self.fence.requeue(job.call_id, outcome, attempt=job.attempt, not_before=nb):
            await self.queue.enqueue(follow)

    async def _dial(self, job: Job, ticket: CallTicket) -> CallOutcome:
        try:
            if ticket.notice:  # espeak-ng in a subprocess: off the loop
                prompt = await asyncio.to_thread(
                    self.prompts.render_notice,
                    ticket.notice,
                    ticket.language,
                    ticket.repeat,
                    ticket.template,
                    dict(ticket.recordings),
                )
            else:
                prompt = self.prompts.render(ticket.code, ticket.language, ticket.repeat)
        except (AudioError, VoiceOTPError, ValueError) as exc:
            return _ended(CallStatus.FAILED, self._clock(), f"prompt: {exc}")
        await self._bucket.take()
        request = CallRequest(
            call_id=job.call_id,
            mobile=ticket.mobile,
            audio=prompt.rtp_audio,
            ring_timeout_s=self.settings.ring_timeout_s,
            max_duration_s=self.settings.max_duration_s,
            deadline=job.deadline,
            code=ticket.code or None,
        )
        try:
            outcome = await self.dialer.dial(request)
        except Exception as exc:
            # Dialers return outcomes; one that raises has a bug. The call may have gone
            # out, so it ends FAILED (never redialed) rather than staying "dialing".
            log.exception("dialer raised for call %s", job.call_id)
            detail = f"dialer error: {type(exc).__name__}"
            outcome = _ended(CallStatus.FAILED, self._clock(), detail)
        return outcome if outcome.dialer else replace(outcome, dialer=self.dialer.name)
