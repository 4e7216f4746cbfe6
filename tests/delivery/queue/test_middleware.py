"""Deadline and redial middleware, and the token bucket, as pure decisions on a fake clock."""

from __future__ import annotations

import pytest

from tests.delivery.queue.fakes import FakeClock
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.queue import Job
from voiceotp.delivery.queue.limits import TokenBucket, TrunkLimits
from voiceotp.delivery.queue.middleware import DeadlineCheck, Redial, RedialPolicy

JOB = Job("1", deadline=1000.0)


def _ended(status: CallStatus) -> CallOutcome:
    return CallOutcome(status, None, None, end_at=500.0)


def test_the_deadline_is_exclusive() -> None:
    assert DeadlineCheck().before_dial(JOB, 999.9) is None
    expired = DeadlineCheck().before_dial(JOB, 1000.0)
    assert expired is not None
    assert expired.status is CallStatus.EXPIRED


def test_no_answer_is_redialed_once_by_default() -> None:
    redial = Redial()
    follow = redial.after_dial(JOB, _ended(CallStatus.NO_ANSWER), 500.0)
    assert follow == Job("1", 1000.0, attempt=2, not_before=530.0)
    assert redial.after_dial(follow, _ended(CallStatus.NO_ANSWER), 560.0) is None
    for status in (CallStatus.BUSY, CallStatus.REJECTED, CallStatus.FAILED, CallStatus.ANSWERED):
        assert redial.after_dial(JOB, _ended(status), 500.0) is None


def test_redials_never_start_at_or_past_the_deadline() -> None:
    assert Redial().after_dial(JOB, _ended(CallStatus.NO_ANSWER), 970.0) is None


@pytest.mark.parametrize("status", [CallStatus.ANSWERED, CallStatus.EXPIRED, CallStatus.RELAYED])
def test_final_outcomes_cannot_be_configured_for_redial(status: CallStatus) -> None:
    with pytest.raises(ValueError, match="never redialed"):
        RedialPolicy({status: (1.0,)})


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TrunkLimits(max_concurrent=0)


async def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=4.0, capacity=2, clock=clock, sleep=clock.sleep)
    taken_at = []
    for _ in range(6):
        await bucket.take()
        taken_at.append(clock() - 1_700_000_000.0)
    assert taken_at == pytest.approx([0.0, 0.0, 0.25, 0.5, 0.75, 1.0])
