"""Every retry decision, end to end through the in-memory fake: a lost answer never
produces a second Submit unless the server dedupes exact replays."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import pytest

from tests.client.conftest import MakeTwin
from tests.clock import FakeClock
from voiceotp import errors
from voiceotp.client import RetryPolicy
from voiceotp.client.transports.memory import MemoryReply
from voiceotp.testing import FakeIhuyi

MOBILE = "13800138000"


async def test_refused_connection_is_retried(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    fake.refuse_connections(2)
    report = await make_twin().submit(MOBILE, "1234")
    assert report.ok
    assert report.attempts == 3
    assert fake.submits[MOBILE] == 1


async def test_refused_until_the_attempts_run_out(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    fake.refuse_connections(6)
    report = await make_twin().submit(MOBILE, "1234")
    assert isinstance(report.error, errors.ConnectError)
    assert not report.outcome_unknown  # nothing was sent: safe to try again later
    assert (report.result, report.attempts) == (None, 3)
    with pytest.raises(errors.ConnectError):
        await make_twin().send(MOBILE, "1234")
    assert fake.requests == 0


@pytest.mark.parametrize("code", [0, 4090])
async def test_transient_code_then_success(make_twin: MakeTwin, fake: FakeIhuyi, code: int) -> None:
    fake.script(MOBILE, code)
    report = await make_twin().submit(MOBILE, "1234")
    assert report.ok
    assert report.attempts == 2
    assert fake.received[MOBILE] == 2
    assert fake.submits[MOBILE] == 1


async def test_transient_codes_until_the_attempts_run_out(
    make_twin: MakeTwin, fake: FakeIhuyi
) -> None:
    fake.script(MOBILE, 4090, 0, 4090, 2)
    with pytest.raises(errors.TransientError) as caught:
        await make_twin().send(MOBILE, "1234")
    assert caught.value.code == 4090
    assert fake.received[MOBILE] == 3
    assert fake.submits[MOBILE] == 0


async def test_final_code_is_not_retried(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    fake.script(MOBILE, 4030)
    report = await make_twin().submit(MOBILE, "1234")
    assert report.attempts == 1
    assert fake.received[MOBILE] == 1


async def test_lost_answer_is_never_resent(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    fake.lose_responses(MOBILE)
    report = await make_twin().submit(MOBILE, "1234")
    assert report.outcome_unknown
    assert isinstance(report.error, errors.UnknownOutcome)
    assert (report.result, report.attempts) == (None, 1)
    assert fake.received[MOBILE] == 1  # exactly one Submit left the client ...
    assert fake.submits[MOBILE] == 1  # ... and it was accepted: the phone rang once


async def test_lost_answer_raises_unknown_outcome_even_in_non_raising_mode(
    make_twin: MakeTwin, fake: FakeIhuyi
) -> None:
    fake.lose_responses(MOBILE)
    with pytest.raises(errors.UnknownOutcome):
        await make_twin(raise_on_error=False).send(MOBILE, "1234")
    assert fake.received[MOBILE] == 1


async def test_read_timeout_is_an_unknown_outcome(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    fake.latency = 0.05
    report = await make_twin(timeout=0.01).submit(MOBILE, "1234")
    assert report.outcome_unknown
    assert fake.received[MOBILE] == 1
    assert fake.submits[MOBILE] == 1


async def test_deduping_server_gets_an_exact_replay(make_twin: MakeTwin) -> None:
    fake = FakeIhuyi(dedupe=True)
    fake.lose_responses(MOBILE)
    forms: list[Mapping[str, str]] = []

    def record(url: str, form: Mapping[str, str]) -> MemoryReply:
        forms.append(form)
        return fake.handle_post(url, form)

    report = await make_twin(handler=record, server_dedupes=True).submit(MOBILE, "1234")
    assert report.ok
    assert report.attempts == 2
    assert forms[0] == forms[1]  # same time, same dynamic password: byte for byte
    assert report.voiceid == fake.calls[0].voiceid  # the original call's id
    assert fake.received[MOBILE] == 2
    assert fake.submits[MOBILE] == 1  # one call placed


async def test_replays_stop_at_the_attempt_limit(make_twin: MakeTwin) -> None:
    fake = FakeIhuyi(dedupe=True)
    fake.lose_responses(MOBILE)
    fake.latency = 0.05  # every answer is too slow, so each replay times out too
    twin = make_twin(handler=fake.handle_post, server_dedupes=True, timeout=0.01)
    report = await twin.submit(MOBILE, "1234")
    assert report.outcome_unknown
    assert report.attempts == 3
    assert fake.submits[MOBILE] == 1


async def test_read_only_requests_are_retried_after_a_lost_answer(
    make_twin: MakeTwin, fake: FakeIhuyi
) -> None:
    drops = itertools.count()

    def lossy(url: str, form: Mapping[str, str]) -> MemoryReply:
        reply = fake.handle_post(url, form)
        return MemoryReply(reply.body, dropped=next(drops) < 2)

    assert await make_twin(handler=lossy).balance() == 100
    assert fake.requests == 3


async def test_backoff_sleeps_between_attempts(make_twin: MakeTwin, fake: FakeIhuyi) -> None:
    clock = FakeClock()
    policy = RetryPolicy(max_attempts=3, backoff_base_s=0.05, jitter=0.0)
    fake.script(MOBILE, 4090, 0)
    report = await make_twin(retry=policy, clock=clock).submit(MOBILE, "1234")
    assert report.ok
    assert clock.sleeps == [0.05, 0.1]
