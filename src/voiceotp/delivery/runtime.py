"""The delivery runtime: queue, fence, dialer worker, notifier and sweep, built from settings.

``voiceotp serve`` starts one next to the API (``app.py``'s lifespan); ``voiceotp dialer``
runs one alone. Queue: the store itself (:class:`StoreQueue`, embedded) or Redis Streams
when ``redis_url`` is set (then the sweep also re-enqueues calls whose job was lost).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from voiceotp.delivery.audio import PromptLibrary
from voiceotp.delivery.config import RuntimeSettings
from voiceotp.delivery.dialer.base import CallOutcome, CallStatus, Dialer
from voiceotp.delivery.factory import make_dialer, make_prompts, record_dir
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.metrics import DeliveryMetrics
from voiceotp.delivery.notify import Notifier, PushSchedule
from voiceotp.delivery.notify.alerts import LowBalanceAlerts
from voiceotp.delivery.notify.direct import push_guard
from voiceotp.delivery.notify.sqloutbox import SqlOutbox
from voiceotp.delivery.queue.base import Job, Queue
from voiceotp.delivery.queue.middleware import RedialPolicy, default_middleware
from voiceotp.delivery.queue.store import StoreQueue
from voiceotp.delivery.queue.worker import DialWorker
from voiceotp.delivery.retention import RetentionSweep, SweepCounts
from voiceotp.delivery.sweep import Sweeper
from voiceotp.store.base import Store
from voiceotp.store.keys import KeyBox

#: Told (account id, connected) of every call this process ended (abuse detectors).
CallFinished = Callable[[int, bool], Awaitable[None]]

__all__ = ["CallFinished", "DeliveryRuntime", "default_worker_name"]

log = logging.getLogger(__name__)


def default_worker_name() -> str:
    """``host-pid``: unique among live processes."""
    return f"{socket.gethostname()}-{os.getpid()}"


class DeliveryRuntime:
    """Everything between an accepted call and its status report, for one process."""

    def __init__(
        self,
        settings: RuntimeSettings,
        store: Store,
        *,
        registry: Any = None,
        run_dialer: bool | None = None,
        run_notifier: bool | None = None,
        queue: Queue | None = None,
        dialer: Dialer | None = None,
        prompts: PromptLibrary | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``registry`` (a prometheus ``CollectorRegistry``): count call ends, calls in
        flight and pushes there (:attr:`metrics`)."""
        conf = settings.delivery
        self.settings, self.store, self._clock = settings, store, clock
        self.run_dialer = conf.run_dialer if run_dialer is None else run_dialer
        self.run_notifier = conf.run_notifier if run_notifier is None else run_notifier
        self.fence = SqlFence(
            store,
            language=conf.prompt_language,
            repeat=conf.prompt_repeat,
            refund_unconnected=settings.refund_unconnected,
            clock=clock,
            on_finished=self._finished,
            keybox=KeyBox(settings.secret_key),
        )
        self._on_call_finished: CallFinished | None = None
        self.metrics = (
            None
            if registry is None
            else DeliveryMetrics(
                registry,
                store,
                in_flight=self.calls_in_flight,
                registration=self.registration_state,
                trunk_names=[t.label for t in conf.trunks],
                trunks_up=self.trunks_up,
            )
        )
        self.outbox = SqlOutbox(store)
        self.sweeper = Sweeper(self.fence, requeue_after_s=conf.requeue_after_s)
        self.retention = RetentionSweep(
            store,
            settings.retention,
            record_dir=record_dir(conf, settings.data_dir),
            codes_erased=lambda: self.fence.codes_erased,
            stale_dirs=(settings.data_dir / "console-prompts",),
            keybox=KeyBox(settings.secret_key),
        )
        self._next_retention = 0.0
        self._codes_counted = 0  # fence.codes_erased already on the metrics
        self.alerts = LowBalanceAlerts(
            store,
            self._apikey,
            push_guard(conf, dev_mode=settings.dev_mode),
            timeout_s=conf.push_timeout_s,
            clock=clock,
        )
        self._queue, self._dialer, self._prompts = queue, dialer, prompts
        self._redis: Any = None
        self.worker: DialWorker | None = None
        self.worker_name = settings.delivery.worker_name or default_worker_name()
        self.notifier: Notifier | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._keybox = KeyBox(settings.secret_key)

    @property
    def queue(self) -> Queue:
        assert self._queue is not None, "runtime not started"
        return self._queue

    @property
    def uses_redis(self) -> bool:
        return bool(self.settings.redis_url) and not isinstance(self._queue, StoreQueue)

    def calls_in_flight(self) -> int:
        """Calls this process's dialer worker handles now."""
        return 0 if self.worker is None else self.worker.in_flight

    def registration_state(self) -> str:
        """The SIP trunk registration of this process's dialer (``off``: none)."""
        dialer = None if self.worker is None else self.worker.dialer
        return str(getattr(dialer, "registration_state", "off"))

    def trunks_up(self) -> dict[str, bool]:
        """Which SIP trunks of this process's dialer take calls now (several trunks only)."""
        dialer = None if self.worker is None else self.worker.dialer
        trunks_up = getattr(dialer, "trunks_up", None)
        return {} if trunks_up is None else dict(trunks_up())

    async def start(self, on_call_finished: CallFinished | None = None) -> None:
        """Build the queue, then start the worker, the notifier and the sweep.

        ``on_call_finished`` is told of every call this process ends (the API's abuse
        detectors count connects and failures)."""
        self._on_call_finished = on_call_finished
        if self._queue is None:
            self._queue = await self._make_queue()
        conf = self.settings.delivery
        if self.run_dialer:
            name = self.worker_name
            if conf.worker_name:  # our own calls of a past life: nobody else holds them
                ended = await self.sweeper.cancel_orphans(self._clock(), worker=name)
                if ended:
                    log.warning("ended %d calls of %s's previous run CANCELED", len(ended), name)
            self.worker = await self._make_worker(name)
            self._spawn(self.worker.run(), "dial-worker")
        if self.run_notifier:
            self.notifier = self._make_notifier()
            self._spawn(self.notifier.run(), "notifier")
        if self.run_dialer:
            self._spawn(self._sweep_forever(), "delivery-sweep")

    async def _finished(self, account_id: int, outcome: CallOutcome) -> None:
        if self.metrics is not None:
            self.metrics.call_finished(outcome.status)
            self.metrics.removed("codes", self.fence.codes_erased - self._codes_counted)
        self._codes_counted = self.fence.codes_erased
        if self._on_call_finished is not None:
            connected = outcome.status in (CallStatus.ANSWERED, CallStatus.RELAYED)
            await self._on_call_finished(account_id, connected)

    async def accepted(self, voiceid: str, deadline: float, not_before: float = 0.0) -> None:
        """A call was accepted (committed): hand it to the queue (a notice accepted in
        quiet hours is not due before they end)."""
        await self.queue.enqueue(Job(voiceid, deadline, not_before=not_before))

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop the sweep and the notifier; calls in flight get ``grace_s`` (default: the
        ``stop_grace_s`` setting) to end, then the dialer hangs up the rest (CANCELED)."""
        if grace_s is None:
            grace_s = self.settings.delivery.stop_grace_s
        sweep = [t for t in self._tasks if t.get_name() == "delivery-sweep"]
        for task in sweep:
            task.cancel()
        if self.notifier is not None:
            self.notifier.stop()
        if self.worker is not None:
            await self.worker.stop(grace_s)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace_s + 2)
        for task in self._tasks:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("delivery task %s failed", task.get_name())
        if self.notifier is not None:
            await self.notifier.aclose()
        if self._queue is not None:
            await self._queue.aclose()

    # ---- building ----------------------------------------------------------------------

    async def _make_queue(self) -> Queue:
        if not self.settings.redis_url:
            return StoreQueue(self.store, clock=self._clock)
        from voiceotp.delivery.queue.redis import RedisQueue, connect

        client = connect(self.settings.redis_url)
        queue = RedisQueue(
            client, prefix=self.settings.redis_prefix + "delivery", clock=self._clock
        )
        await queue.setup()
        return queue

    async def _make_worker(self, name: str) -> DialWorker:
        conf = self.settings.delivery
        prompts = self._prompts or make_prompts(conf, self.settings.data_dir)
        await asyncio.to_thread(prompts.warm, [conf.prompt_language])  # espeak-ng, once
        dialer = self._dialer or make_dialer(conf, self.settings.data_dir)
        start = getattr(dialer, "start", None)
        if start is not None:  # a SIP dialer binds and REGISTERs now, not at its first call
            await start()
        policy = RedialPolicy({CallStatus(k): v for k, v in conf.redial.items()})
        return DialWorker(
            queue=self.queue,
            fence=self.fence,
            dialer=dialer,
            prompts=prompts,
            settings=conf.worker_settings(name),
            middleware=default_middleware(policy),
            clock=self._clock,
        )

    def _make_notifier(self) -> Notifier:
        conf = self.settings.delivery
        schedule = PushSchedule(
            base_s=conf.push_base_s, cap_s=conf.push_cap_s, give_up_after_s=conf.push_give_up_s
        )
        # Development mode also lets callbacks reach this machine (a local test receiver).
        return Notifier(
            self.outbox,
            self._apikey,
            schedule=schedule,
            guard=push_guard(conf, dev_mode=self.settings.dev_mode),
            timeout_s=conf.push_timeout_s,
            poll_s=conf.push_poll_s,
            stats=self.metrics,
            clock=self._clock,
        )

    async def _apikey(self, account: str) -> str | None:
        record = await self.store.get_account(account)
        return None if record is None else self._keybox.open(record.apikey_enc)

    # ---- running -----------------------------------------------------------------------

    def _spawn(self, work: Any, name: str) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(work, name=name))

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:
                log.exception("delivery sweep failed (will retry)")
            try:
                await self.retention_once()
            except Exception:
                log.exception("retention sweep failed (will retry)")
            await asyncio.sleep(self.settings.delivery.sweep_every_s)

    async def retention_once(self) -> None:
        """Scrub the journal when codes were erased; mask numbers and delete audio past
        their retention every ``retention.sweep_every_s`` (delivery/retention.py)."""
        now = self._clock()
        if now < self._next_retention:
            scrubbed = await self.retention.scrub(now)
            counts = SweepCounts(journal_scrubbed=scrubbed)
        else:
            self._next_retention = now + self.settings.retention.sweep_every_s
            counts = await self.retention.sweep(now)
        if self.metrics is not None:
            self.metrics.removed("numbers", counts.numbers_masked)
            self.metrics.removed("reports", counts.reports_masked)
            self.metrics.removed("audio", counts.audio_deleted)
            self.metrics.removed("signups", counts.signups_masked)
            self.metrics.removed("codes", counts.codes_erased)
            self.metrics.removed("journal_scrubs", int(counts.journal_scrubbed))

    async def sweep_once(self) -> None:
        """Expire, cancel orphans, re-enqueue lost jobs (Redis only: the store queue
        cannot lose one); then the low-balance alerts (notify/alerts.py)."""
        result = await self.sweeper.sweep(self._clock(), find_lost=self.uses_redis)
        for job in result.lost:
            await self.queue.enqueue(job)
        if result.expired or result.canceled or result.lost:
            log.info(
                "sweep: %d expired, %d orphans canceled, %d jobs re-enqueued",
                len(result.expired),
                len(result.canceled),
                len(result.lost),
            )
        await self.alerts.check()
