"""A service that is down or answers garbage: rows stay resumable and the run stops."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from tests.client.batch.conftest import numbers
from voiceotp.client import AsyncClient, AsyncMemoryTransport, RetryPolicy
from voiceotp.client.batch import (
    BatchOptions,
    Journal,
    MemoryReport,
    MemorySender,
    State,
    run_batch,
)
from voiceotp.client.batch.verdict import TroubleStreak, Verdict, judge
from voiceotp.errors import (
    ConnectError,
    InvalidMobile,
    ProtocolError,
    UnknownOutcome,
    VoiceOTPError,
)
from voiceotp.protocol import SubmitResult
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY

MakeJournal = Callable[..., Journal]
REFUSED = ConnectError("Cannot connect to host 127.0.0.1:18819 [Connection refused]")
HTML_500 = ProtocolError("not an ihuyi document", b"<html><h1>500 Internal Server Error</h1>")


def one_by_one(**kwargs: object) -> BatchOptions:
    """Concurrency 1, so "in a row" is the rows' order."""
    return BatchOptions(concurrency=1, retry_delay_s=0, **kwargs)  # type: ignore[arg-type]


def by_row(journal: Journal) -> dict[int, State]:
    return {record.row: record.state for record in journal.records()}


# ---- verdicts --------------------------------------------------------------------------


def test_a_connect_failure_with_no_attempts_left_leaves_the_row_pending() -> None:
    verdict = judge(MemoryReport("13800130000", None, REFUSED, 2), retryable=False)
    assert verdict.state is State.PENDING
    assert not verdict.retry
    assert verdict.reason == f"connect failed: {REFUSED}"
    assert verdict.trouble == f"the service is unreachable: {REFUSED}"


def test_a_connect_failure_with_attempts_left_is_retried_and_no_trouble_yet() -> None:
    verdict = judge(MemoryReport("13800130000", None, REFUSED, 1), retryable=True)
    assert (verdict.state, verdict.retry, verdict.trouble) == (State.PENDING, True, None)


@pytest.mark.parametrize(
    ("error", "state", "trouble"),
    [
        (UnknownOutcome("read timeout"), State.UNKNOWN, "the service does not answer"),
        (HTML_500, State.UNKNOWN, "the service's answers are unreadable"),
        (InvalidMobile("not a mainland mobile number"), State.FAILED, None),
    ],
)
def test_what_else_is_unknown_and_counts_as_trouble(
    error: VoiceOTPError, state: State, trouble: str | None
) -> None:
    verdict = judge(MemoryReport("13800130000", None, error), retryable=False)
    assert verdict.state is state
    if trouble is None:
        assert verdict.trouble is None
    else:
        assert verdict.trouble is not None
        assert verdict.trouble.startswith(trouble)


def test_the_streak_counts_trouble_in_a_row_and_any_answer_resets_it() -> None:
    streak = TroubleStreak(3, concurrency=1)
    trouble = Verdict(State.UNKNOWN, trouble="the service does not answer: timeout")
    answer = Verdict(State.PENDING, SubmitResult(0, "提交失败"), retry=True)  # even a "no"
    local = Verdict(State.FAILED, reason="refused locally")  # neither trouble nor answer
    assert [streak.observe(v) for v in (trouble, trouble, answer, trouble, local, trouble)] == [
        None
    ] * 6
    stop = streak.observe(trouble)
    assert stop == (
        "the service does not answer: timeout (3 rows in a row with no answer from the service)"
    )


@pytest.mark.parametrize(("concurrency", "limit"), [(1, 10), (5, 10), (8, 16), (100, 200)])
def test_the_default_limit_outlasts_one_wave_of_in_flight_requests(
    concurrency: int, limit: int
) -> None:
    assert TroubleStreak(None, concurrency).limit == limit


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="trouble_limit"):
        TroubleStreak(0, concurrency=4)


# ---- runs ------------------------------------------------------------------------------


async def test_connect_failures_never_fail_a_row_and_a_resume_sends_it(
    make_journal: MakeJournal,
) -> None:
    mobiles = numbers(3)
    journal = make_journal([(m, "1234") for m in mobiles])
    sender = MemorySender({mobiles[1]: [REFUSED] * 3})
    summary = await run_batch(journal, sender, one_by_one(max_attempts=3))
    second = list(journal.records())[1]
    assert (second.state, second.attempts) == (State.PENDING, 3)
    assert second.reason == f"connect failed: {REFUSED}"
    assert summary.stopped is None  # one row is no outage
    assert not summary.finished
    assert summary.counts[State.FAILED] == 0
    summary = await run_batch(journal, sender, one_by_one())
    assert summary.finished
    assert by_row(journal) == dict.fromkeys((1, 2, 3), State.SENT)


async def test_an_unreachable_service_stops_the_run_with_every_row_pending(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal([(m, "1234") for m in numbers(50)])
    down = MemorySender(default=REFUSED)
    summary = await run_batch(journal, down, one_by_one(max_attempts=3, trouble_limit=5))
    assert summary.stopped is not None
    assert (summary.stopped.kind, summary.stopped.row) == ("service", 5)
    assert summary.stopped.message.startswith(f"the service is unreachable: {REFUSED}")
    assert summary.counts[State.PENDING] == 50
    assert summary.requests == 5 * 3  # five rows, each with its attempts; then nothing
    assert sum(down.submits.values()) == 15
    up = MemorySender()
    summary = await run_batch(journal, up, one_by_one())
    assert summary.counts[State.SENT] == 50
    assert summary.stopped is None


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (UnknownOutcome("read timeout"), "the service does not answer"),
        (HTML_500, "the service's answers are unreadable"),
    ],
)
async def test_a_streak_of_unknown_outcomes_stops_the_run(
    make_journal: MakeJournal, error: VoiceOTPError, message: str
) -> None:
    journal = make_journal([(m, "1234") for m in numbers(40)])
    summary = await run_batch(journal, MemorySender(default=error), one_by_one())
    assert summary.stopped is not None
    assert summary.stopped.kind == "service"
    assert summary.stopped.message.startswith(message)
    assert summary.counts[State.UNKNOWN] == 10  # the default limit at concurrency 1
    assert summary.counts[State.PENDING] == 30


async def test_answers_in_between_keep_the_run_going(make_journal: MakeJournal) -> None:
    mobiles = numbers(11)  # two unknowns, an answer, two unknowns, ...
    journal = make_journal([(m, "1234") for m in mobiles])
    lost = UnknownOutcome("read timeout")
    answers: dict[str, list[int | VoiceOTPError]] = {m: [lost] for m in mobiles}
    answers[mobiles[2]] = [4030]  # refused: an answer all the same
    answers[mobiles[5]] = [0, 2]  # "nothing accepted", then sent
    answers[mobiles[8]] = [2]
    summary = await run_batch(journal, MemorySender(answers), one_by_one(trouble_limit=3))
    assert summary.stopped is None
    assert summary.finished
    assert summary.counts[State.UNKNOWN] == 8


async def test_requests_in_flight_finish_when_the_service_stop_comes(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal([(m, "1234") for m in numbers(60)])
    options = BatchOptions(concurrency=6, retry_delay_s=0, trouble_limit=6)
    sender = MemorySender(default=UnknownOutcome("read timeout"), latency_s=0.001)
    summary = await run_batch(journal, sender, options)
    assert summary.stopped is not None
    assert summary.stopped.kind == "service"
    assert summary.counts[State.SENDING] == 0
    assert 6 <= summary.counts[State.UNKNOWN] < 6 + 6  # the limit, plus those in flight
    assert summary.counts[State.UNKNOWN] == summary.requests


def html_500(url: str, form: Mapping[str, str]) -> bytes:
    return b"<html><body><h1>500 Internal Server Error</h1></body></html>"


async def test_the_real_client_against_an_html_error_page_stops_the_run(
    make_journal: MakeJournal,
) -> None:
    journal = make_journal([(m, "1234") for m in numbers(30)])
    client = AsyncClient(
        DEFAULT_ACCOUNT,
        DEFAULT_APIKEY,
        base_url="http://fake.invalid/webservice/voice.php",
        transport=AsyncMemoryTransport(html_500),
        retry=RetryPolicy.never(),
    )
    async with client:
        summary = await run_batch(journal, client, one_by_one(trouble_limit=4))
    assert summary.stopped is not None
    assert summary.stopped.message.startswith("the service's answers are unreadable")
    assert (summary.counts[State.UNKNOWN], summary.counts[State.PENDING]) == (4, 26)
