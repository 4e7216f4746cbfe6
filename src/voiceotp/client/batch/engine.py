"""The batch engine: send every pending journal row once, at a bounded pace.

Each worker takes an item, waits for a rate token, durably marks it ``sending``, submits
it and records the outcome; no exception escapes per item. A code of the account class
stops the run (in-flight requests finish; everything else stays pending); so do a streak
of rows without a readable answer (``BatchOptions.trouble_limit``: the service is down)
and :meth:`BatchEngine.stop` (Ctrl-C). Rows found ``sending`` at start are crash leftovers
and become ``unknown``; they are sent again only under an explicit :class:`UnknownPolicy`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from voiceotp.client.batch.commit import GroupCommitter
from voiceotp.client.batch.heap import settled_heap
from voiceotp.client.batch.items import Item, State
from voiceotp.client.batch.journal import Journal, JournalError
from voiceotp.client.batch.ratelimit import AdaptiveRate, Clock, Sleep
from voiceotp.client.batch.records import Mark, Outcome
from voiceotp.client.batch.verdict import TroubleStreak, Verdict, judge
from voiceotp.protocol import DEFAULT_WINDOW_S, SubmitResult


class SendReportLike(Protocol):
    """What a sender answers for one submit (``voiceotp.client.SendReport`` fits)."""

    @property
    def result(self) -> SubmitResult | None: ...
    @property
    def error(self) -> BaseException | None: ...
    @property
    def attempts(self) -> int: ...


class Sender(Protocol):
    """Anything that submits one code (``voiceotp.client.AsyncClient`` fits); for a notice
    batch, ``code`` is the notice's content (``NoticeSender`` submits it as a notice)."""

    async def submit(
        self, mobile: str, code: str, *, time: int | None = None
    ) -> SendReportLike: ...


class UnknownPolicy(StrEnum):
    """What a run does with rows whose earlier request has an unknown outcome."""

    KEEP = "keep"  # leave them unknown (default: never risk a second call)
    REPLAY = "replay"  # resend with the stored `time`: a deduping gateway answers the original
    RESEND = "resend"  # resend as new requests: the user accepts a possible second call


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """How a run sends. ``rate`` is requests per second (None: only concurrency bounds it)."""

    concurrency: int = 10
    rate: float | None = None
    burst: float | None = None
    max_attempts: int = 3  # per item, for answers that say nothing was accepted (0, 4090)
    retry_delay_s: float = 0.5  # first backoff; doubles per attempt
    unknown: UnknownPolicy = UnknownPolicy.KEEP
    replay_window_s: int = DEFAULT_WINDOW_S - 30  # margin for clock skew and the trip
    page_size: int = 1000
    # Tune the process's garbage collector during the run (heap.py): opt-in, the
    # collector belongs to the whole program. `voiceotp batch` turns it on for its process.
    freeze_gc: bool = False
    # Rows in a row that got no readable answer (connect failures with no attempts left,
    # unknown outcomes) before the run stops; None: max(10, 2 * concurrency), see batch.md.
    trouble_limit: int | None = None


@dataclass(frozen=True, slots=True)
class StopReason:
    """Why a run ended before every row was sent."""

    kind: str  # "account", "service" (unreachable or unreadable) or "interrupted"
    message: str
    code: int | None = None
    row: int | None = None


@dataclass(slots=True)
class BatchSummary:
    """The journal's totals after a run, and what this run did."""

    counts: dict[State, int]
    codes: list[tuple[int | None, str | None, State, int]]
    stopped: StopReason | None = None
    recovered: int = 0  # rows found `sending` at start (crash leftovers) -> unknown
    too_old_to_replay: int = 0
    requests: int = 0
    elapsed_s: float = 0.0
    slowdowns: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> bool:
        """Nothing left to send."""
        return self.counts[State.PENDING] == 0 and self.counts[State.SENDING] == 0


@dataclass(frozen=True, slots=True)
class BrokenReport:
    """Stands for a report when ``submit`` raised instead of answering."""

    error: BaseException
    result: None = None
    attempts: int = 1


OutcomeHook = Callable[[Outcome], None]


class BatchEngine:
    """Runs one batch over a :class:`Journal` through a :class:`Sender`."""

    def __init__(
        self,
        journal: Journal,
        sender: Sender,
        options: BatchOptions | None = None,
        *,
        on_outcome: OutcomeHook | None = None,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.journal = journal
        self.sender = sender
        self.options = options or BatchOptions()
        self._on_outcome = on_outcome
        self._wall = wall
        self._sleep = sleep
        self.rate = AdaptiveRate(self.options.rate, self.options.burst, clock=clock, sleep=sleep)
        self.stopped: StopReason | None = None
        self._trouble = TroubleStreak(self.options.trouble_limit, self.options.concurrency)
        self._requests = 0
        self._too_old = 0
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Requests sent whose answer has not come back yet."""
        return self._in_flight

    def is_stopping(self) -> bool:
        """True once :meth:`stop` was called, or an account code or outage stopped the run."""
        return self.stopped is not None

    def stop(self, reason: StopReason | None = None) -> None:
        """Send nothing more; requests in flight finish. Safe to call from a signal handler."""
        if self.stopped is None:
            self.stopped = reason or StopReason("interrupted", "interrupted by the user")

    async def run(self) -> BatchSummary:
        """Send every pending row (and unknown ones, per policy); return the totals."""
        started = time.monotonic()
        recovered = self.journal.recover()
        committer = GroupCommitter(self.journal)
        try:
            with settled_heap(self.options.freeze_gc):
                await self._send_all(committer)
        except* JournalError:
            pass  # re-raised, once, by close(): no request left without its mark
        finally:
            await committer.close()
        counts, codes = self.journal.counts(), self.journal.code_counts()
        return BatchSummary(
            counts,
            codes,
            stopped=self.stopped,
            recovered=recovered,
            too_old_to_replay=self._too_old,
            requests=self._requests,
            elapsed_s=time.monotonic() - started,
            slowdowns=self.rate.slowdowns,
        )

    async def _send_all(self, committer: GroupCommitter) -> None:
        # Workers pull from one shared generator (it never awaits, so each next() runs
        # to completion); it reads the journal a page at a time.
        source = self._items()
        async with asyncio.TaskGroup() as group:
            for _ in range(self.options.concurrency):
                group.create_task(self._work(source, committer))

    def _items(self) -> Iterator[Item]:
        if self.options.unknown is not UnknownPolicy.KEEP:
            yield from self._items_in(State.UNKNOWN)
        yield from self._items_in(State.PENDING)

    def _items_in(self, state: State) -> Iterator[Item]:
        after = 0
        while page := self.journal.page(state, after, self.options.page_size):
            after = page[-1].row
            for item in page:
                if state is State.UNKNOWN and not self._may_resend(item):
                    continue
                yield item

    def _may_resend(self, item: Item) -> bool:
        if self.options.unknown is UnknownPolicy.RESEND:
            return True
        fresh = item.time is not None and (
            self._wall() - int(item.time) <= self.options.replay_window_s
        )
        if not fresh:
            self._too_old += 1
        return fresh

    async def _work(self, source: Iterator[Item], committer: GroupCommitter) -> None:
        for item in source:
            if self.stopped is not None:
                return
            await self._send_one(item, committer)

    async def _send_one(self, item: Item, committer: GroupCommitter) -> None:
        attempts = item.attempts
        replay = self.options.unknown is UnknownPolicy.REPLAY and item.time is not None
        for attempt in range(self.options.max_attempts):
            if not (self.rate.try_acquire() or await self.rate.acquire(self.is_stopping)):
                return
            if self.is_stopping() or (replay and not self._may_resend(item)):
                return  # a replay delayed past the window stays unknown (counted)
            stamp = item.time if replay else str(int(self._wall()))
            await committer.mark(Mark(item.row, stamp, attempts, self._wall()))
            self._requests += 1
            self._in_flight += 1
            try:
                report = await self._submit(item, stamp)
            finally:
                self._in_flight -= 1
            attempts += max(1, report.attempts)
            verdict = judge(report, retryable=attempt + 1 < self.options.max_attempts)
            self._adapt(verdict, item)
            self._record(committer, item.row, verdict, attempts)
            if not verdict.retry:
                return
            await self._sleep(self.options.retry_delay_s * 2**attempt)

    async def _submit(self, item: Item, stamp: str | None) -> SendReportLike:
        try:
            return await self.sender.submit(item.mobile, item.code, time=_as_int(stamp))
        except Exception as exc:
            # A sender broke its contract. The row still gets a result, and since the
            # request may have left, that result is "unknown".
            return BrokenReport(exc)

    def _adapt(self, verdict: Verdict, item: Item) -> None:
        if verdict.slow_down:
            self.rate.slow_down()
        elif verdict.state is State.SENT:
            self.rate.speed_up()
        if verdict.stop and verdict.result is not None:
            code, msg = verdict.result.code, verdict.result.msg
            self.stop(StopReason("account", f"{code} {msg}", code=code, row=item.row))
        trouble = self._trouble.observe(verdict)
        if trouble is not None:
            self.stop(StopReason("service", trouble, row=item.row))

    def _record(self, committer: GroupCommitter, row: int, verdict: Verdict, attempts: int) -> None:
        result = verdict.result
        outcome = Outcome(
            row,
            verdict.state,
            attempts,
            self._wall(),
            result_code=result.code if result else None,
            msg=result.msg if result else None,
            voiceid=result.voiceid if result and result.voiceid != "0" else None,
            reason=verdict.reason,
        )
        committer.record(outcome)
        if self._on_outcome is not None and not verdict.retry:
            self._on_outcome(outcome)


def _as_int(stamp: str | None) -> int | None:
    return int(stamp) if stamp is not None else None
