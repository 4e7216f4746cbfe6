from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator

import pytest

from tests.client.batch.conftest import numbers
from tests.clock import FakeClock
from voiceotp.client.batch import (
    BatchEngine,
    BatchOptions,
    Journal,
    MemoryReport,
    MemorySender,
    Outcome,
    State,
    UnknownPolicy,
    run_batch,
    run_batch_sync,
)
from voiceotp.client.batch.records import Mark
from voiceotp.errors import ConnectError, UnknownOutcome
from voiceotp.protocol import ACCOUNT_CODES

MakeJournal = Callable[..., Journal]
FAST = BatchOptions(concurrency=4, retry_delay_s=0)
FREEZE_GC = BatchOptions(concurrency=4, retry_delay_s=0, freeze_gc=True)


def by_row(journal: Journal) -> dict[int, State]:
    return {record.row: record.state for record in journal.records()}


async def test_every_row_is_sent_once_and_its_voiceid_stored(make_journal: MakeJournal) -> None:
    mobiles = numbers(50)
    journal = make_journal([(m, "1234") for m in mobiles])
    sender = MemorySender()
    summary = await run_batch(journal, sender, FAST)
    assert summary.counts[State.SENT] == 50
    assert summary.finished
    assert summary.requests == 50
    assert set(sender.submits.values()) == {1}
    records = list(journal.records())
    assert all(r.voiceid and r.result_code == 2 and r.attempts == 1 for r in records)
    assert len({r.voiceid for r in records}) == 50
    assert summary.codes == [(2, "提交成功", State.SENT, 50)]


@pytest.mark.parametrize("code", sorted(ACCOUNT_CODES))
async def test_account_code_stops_the_run_and_leaves_the_rest_pending(
    make_journal: MakeJournal, code: int
) -> None:
    mobiles = numbers(10)
    journal = make_journal([(m, "1234") for m in mobiles])
    sender = MemorySender({mobiles[2]: [code]})
    summary = await run_batch(journal, sender, BatchOptions(concurrency=1, retry_delay_s=0))
    assert summary.stopped is not None
    assert (summary.stopped.kind, summary.stopped.code, summary.stopped.row) == ("account", code, 3)
    assert str(code) in summary.stopped.message
    states = by_row(journal)
    assert [states[r] for r in (1, 2)] == [State.SENT, State.SENT]
    assert all(states[r] is State.PENDING for r in range(3, 11))  # row 3 was not accepted
    assert sum(sender.submits.values()) == 3
    assert not summary.finished


async def test_resume_after_account_stop_sends_only_the_pending_rows(
    make_journal: MakeJournal,
) -> None:
    mobiles = numbers(6)
    journal = make_journal([(m, "1234") for m in mobiles])
    sender = MemorySender({mobiles[3]: [4051]})
    await run_batch(journal, sender, BatchOptions(concurrency=1, retry_delay_s=0))
    summary = await run_batch(journal, sender, FAST)
    assert summary.stopped is None
    assert summary.counts[State.SENT] == 6
    assert sender.accepted == dict.fromkeys(mobiles, 1)


async def test_transient_codes_slow_down_and_retry_until_accepted(
    make_journal: MakeJournal,
) -> None:
    mobiles = numbers(3)
    journal = make_journal([(m, "1234") for m in mobiles])
    sender = MemorySender({mobiles[0]: [4090, 0, 2]})
    clock = FakeClock()
    options = BatchOptions(concurrency=1, retry_delay_s=0)
    engine = BatchEngine(journal, sender, options, clock=clock, sleep=clock.sleep)
    summary = await engine.run()
    assert summary.counts[State.SENT] == 3
    first = next(journal.records())
    assert (first.state, first.attempts, first.result_code) == (State.SENT, 3, 2)
    assert summary.slowdowns == 1  # one cool-down window: counted once
    assert clock.slept > 0  # the unlimited bucket started pacing


async def test_transient_code_past_the_attempt_budget_fails_the_row(
    make_journal: MakeJournal,
) -> None:
    mobiles = numbers(2)
    journal = make_journal([(m, "1234") for m in mobiles])
    sender = MemorySender({mobiles[0]: [0, 0, 0, 0]})
    summary = await run_batch(journal, sender, BatchOptions(max_attempts=3, retry_delay_s=0))
    first = next(journal.records())
    assert (first.state, first.result_code, first.attempts) == (State.FAILED, 0, 3)
    assert summary.counts[State.SENT] == 1
    assert summary.stopped is None


async def test_number_and_request_codes_fail_the_row_and_the_run_goes_on(
    make_journal: MakeJournal,
) -> None:
    mobiles = numbers(4)
    journal = make_journal([(m, "1234") for m in mobiles])
    sender = MemorySender({mobiles[0]: [4030], mobiles[1]: [407], mobiles[2]: [4082]})
    summary = await run_batch(journal, sender, FAST)
    assert [r.result_code for r in journal.records()] == [4030, 407, 4082, 2]
    assert summary.counts[State.FAILED] == 3
    assert sum(sender.submits.values()) == 4  # failures are final: no retry


async def test_connect_error_is_retried_but_unknown_outcome_never_is(
    make_journal: MakeJournal,
) -> None:
    mobiles = numbers(2)
    journal = make_journal([(m, "1234") for m in mobiles])
    sender = MemorySender(
        {mobiles[0]: [ConnectError("refused"), 2], mobiles[1]: [UnknownOutcome("timeout")]}
    )
    summary = await run_batch(journal, sender, FAST)
    first, second = journal.records()
    assert (first.state, first.attempts) == (State.SENT, 2)
    assert second.state is State.UNKNOWN
    assert second.reason is not None
    assert "UnknownOutcome" in second.reason
    assert sender.submits[mobiles[1]] == 1
    assert summary.counts[State.UNKNOWN] == 1


def crash_while_sending(journal: Journal, rows: list[int], stamp: str) -> None:
    """What a kill -9 leaves behind: rows durably `sending`, no outcome."""
    journal.apply([Mark(row, stamp, 0, 0.0) for row in rows], [])


async def test_rows_left_sending_become_unknown_and_are_not_resent_by_default(
    make_journal: MakeJournal,
) -> None:
    mobiles = numbers(5)
    journal = make_journal([(m, "1234") for m in mobiles])
    crash_while_sending(journal, [2, 4], str(int(time.time())))
    sender = MemorySender()
    summary = await run_batch(journal, sender, FAST)
    assert summary.recovered == 2
    assert by_row(journal) == {
        1: State.SENT,
        2: State.UNKNOWN,
        3: State.SENT,
        4: State.UNKNOWN,
        5: State.SENT,
    }
    assert mobiles[1] not in sender.submits
    assert mobiles[3] not in sender.submits


async def test_replay_resends_unknowns_with_their_stored_time(make_journal: MakeJournal) -> None:
    mobiles = numbers(3)
    journal = make_journal([(m, "1234") for m in mobiles])
    sender = MemorySender(dedupes=True)
    stamp = int(time.time()) - 10
    original = await sender.submit(mobiles[1], "1234", time=stamp)  # accepted, answer lost
    crash_while_sending(journal, [2], str(stamp))
    await run_batch(journal, sender, FAST)  # default policy: stays unknown
    summary = await run_batch(journal, sender, BatchOptions(unknown=UnknownPolicy.REPLAY))
    second = list(journal.records())[1]
    assert original.result is not None
    assert (second.state, second.voiceid) == (State.SENT, original.result.voiceid)
    assert second.time == str(stamp)
    assert sender.accepted[mobiles[1]] == 1  # the replay placed no second call
    assert summary.counts[State.SENT] == 3


async def test_replay_skips_unknowns_older_than_the_window(make_journal: MakeJournal) -> None:
    journal = make_journal([(m, "1234") for m in numbers(2)])
    crash_while_sending(journal, [1], str(int(time.time()) - 3600))
    sender = MemorySender(dedupes=True)
    summary = await run_batch(journal, sender, BatchOptions(unknown=UnknownPolicy.REPLAY))
    assert summary.too_old_to_replay == 1
    assert by_row(journal)[1] is State.UNKNOWN
    assert sum(sender.submits.values()) == 1


async def test_resend_sends_unknowns_again_as_new_requests(make_journal: MakeJournal) -> None:
    mobiles = numbers(2)
    journal = make_journal([(m, "1234") for m in mobiles])
    crash_while_sending(journal, [1], "1000000000")
    sender = MemorySender()
    summary = await run_batch(journal, sender, BatchOptions(unknown=UnknownPolicy.RESEND))
    assert summary.counts[State.SENT] == 2
    first = next(journal.records())
    assert first.time != "1000000000"


async def test_stop_lets_in_flight_finish_and_keeps_the_rest_pending(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal([(m, "1234") for m in numbers(20)])
    sender = MemorySender()
    seen: list[Outcome] = []
    engine = BatchEngine(journal, sender, BatchOptions(concurrency=1))

    def on_outcome(outcome: Outcome) -> None:
        seen.append(outcome)
        if len(seen) == 3:
            engine.stop()

    engine._on_outcome = on_outcome
    summary = await engine.run()
    assert summary.stopped is not None
    assert summary.stopped.kind == "interrupted"
    assert summary.counts[State.SENT] == 3
    assert summary.counts[State.PENDING] == 17
    assert summary.counts[State.SENDING] == 0


async def test_duplicates_are_skipped_with_the_first_row_named(make_journal: MakeJournal) -> None:
    mobiles = numbers(2)
    journal = make_journal(
        [(mobiles[0], "1111"), ("+86 " + mobiles[0], "2222"), (mobiles[1], None), (mobiles[0], "")]
    )
    sender = MemorySender()
    summary = await run_batch(journal, sender, FAST)
    records = list(journal.records())
    assert [r.state for r in records] == [State.SENT, State.SKIPPED, State.SENT, State.SKIPPED]
    assert records[1].reason == "duplicate of row 1"
    assert summary.counts[State.SKIPPED] == 2
    assert sender.submits == {mobiles[0]: 1, mobiles[1]: 1}


async def test_duplicates_can_be_allowed(make_journal: MakeJournal) -> None:
    mobile = numbers(1)[0]
    journal = make_journal([(mobile, "1111"), (mobile, "2222")], dedupe=False)
    sender = MemorySender()
    summary = await run_batch(journal, sender, FAST)
    assert summary.counts[State.SENT] == 2
    assert sender.submits[mobile] == 2


async def test_rejected_rows_are_kept_with_their_reason(make_journal: MakeJournal) -> None:
    journal = make_journal([("12345", "1234"), (numbers(1)[0], "12")])
    summary = await run_batch(journal, MemorySender(), FAST)
    assert summary.counts[State.REJECTED] == 2
    assert [r.reason for r in journal.records()] == ["invalid mobile", "code must be 4-6 digits"]


async def test_missing_codes_are_generated_and_stored(make_journal: MakeJournal) -> None:
    journal = make_journal([(m, None) for m in numbers(3)], code_length=4)
    await run_batch(journal, MemorySender(), FAST)
    codes = [r.code for r in journal.records()]
    assert all(c is not None and len(c) == 4 and c.isdigit() for c in codes)


def test_sync_wrapper_runs_the_batch(make_journal: MakeJournal) -> None:
    journal = make_journal([(m, "1234") for m in numbers(5)])
    sender = MemorySender()
    summary = run_batch_sync(journal, lambda: sender, FAST)
    assert summary.counts[State.SENT] == 5


class RaisingSender(MemorySender):
    """A sender that breaks the contract for one number by raising."""

    async def submit(self, mobile: str, code: str, *, time: int | None = None) -> MemoryReport:
        if mobile.endswith("0001"):
            raise RuntimeError("bug in a sender")
        return await super().submit(mobile, code, time=time)


async def test_a_sender_that_raises_leaves_its_row_unknown_and_the_run_goes_on(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal([(m, "1234") for m in numbers(3)])
    summary = await run_batch(journal, RaisingSender(), FAST)
    states = by_row(journal)
    assert states == {1: State.SENT, 2: State.UNKNOWN, 3: State.SENT}
    assert summary.counts[State.UNKNOWN] == 1
    assert "RuntimeError" in (list(journal.records())[1].reason or "")


class HeapWatcher(MemorySender):
    """Notes the collector's settings each submit sees."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[int, int]] = set()

    async def submit(self, mobile: str, code: str, *, time: int | None = None) -> MemoryReport:
        self.seen.add((gc.get_freeze_count() > 0, gc.get_threshold()[0]))
        return await super().submit(mobile, code, time=time)


@pytest.fixture
def default_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.set_threshold(700, *thresholds[1:])
    gc.unfreeze()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


@pytest.mark.usefixtures("default_gc")
async def test_the_heap_is_frozen_only_while_the_run_sends(make_journal: MakeJournal) -> None:
    journal = make_journal([(m, "1234") for m in numbers(20)])
    sender = HeapWatcher()
    await BatchEngine(journal, sender, FREEZE_GC).run()
    assert sender.seen == {(True, 10_000)}
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold()[0] == 700


@pytest.mark.usefixtures("default_gc")
async def test_a_heap_someone_froze_or_tuned_is_left_alone(make_journal: MakeJournal) -> None:
    journal = make_journal([(m, "1234") for m in numbers(20)])
    gc.freeze()
    sender = HeapWatcher()
    await BatchEngine(journal, sender, FREEZE_GC).run()
    assert sender.seen == {(True, 700)}
    assert gc.get_freeze_count() > 0  # still the caller's
    gc.unfreeze()
    gc.set_threshold(5000)
    journal = make_journal([(m, "1234") for m in numbers(20, start=20)])
    await BatchEngine(journal, sender := HeapWatcher(), FREEZE_GC).run()
    assert sender.seen == {(False, 5000)}


@pytest.mark.usefixtures("default_gc")
async def test_a_library_run_leaves_the_heap_alone_by_default(make_journal: MakeJournal) -> None:
    # The collector is the process's, not the library's: tuning it is opt-in.
    journal = make_journal([(m, "1234") for m in numbers(20)])
    sender = HeapWatcher()
    await BatchEngine(journal, sender, BatchOptions(concurrency=4)).run()
    assert sender.seen == {(False, 700)}


class HeldSender(MemorySender):
    """Holds every request until released; says when ``expected`` are waiting."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.waiting = 0
        self.all_waiting = asyncio.Event()
        self.release = asyncio.Event()

    async def submit(self, mobile: str, code: str, *, time: int | None = None) -> MemoryReport:
        self.waiting += 1
        if self.waiting == self.expected:
            self.all_waiting.set()
        await self.release.wait()
        return await super().submit(mobile, code, time=time)


async def test_in_flight_counts_the_requests_awaiting_an_answer(make_journal: MakeJournal) -> None:
    journal = make_journal([(m, "1234") for m in numbers(10)])
    sender = HeldSender(expected=4)
    engine = BatchEngine(journal, sender, FAST)
    run = asyncio.ensure_future(engine.run())
    await sender.all_waiting.wait()
    assert engine.in_flight == 4
    engine.stop()
    sender.release.set()
    summary = await run
    assert engine.in_flight == 0
    assert summary.counts[State.SENT] == 4
