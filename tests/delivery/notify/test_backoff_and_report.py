"""Push retry schedule (pure, jittered, 24 h) and the report payload."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.notify import (
    PushSchedule,
    StatusReport,
    compute_push_delay,
    encode_reports,
    next_push_at,
)

SCHEDULE = PushSchedule()


@given(st.integers(min_value=1, max_value=10_000), st.floats(min_value=0, max_value=1))
def test_every_delay_lies_within_its_jitter_band(attempt: int, rand: float) -> None:
    nominal = min(SCHEDULE.cap_s, SCHEDULE.base_s * 2 ** min(attempt - 1, 32))
    delay = compute_push_delay(attempt, SCHEDULE, rand)
    assert nominal * (1 - SCHEDULE.jitter) <= delay <= nominal


def test_delays_grow_then_stay_at_the_cap() -> None:
    delays = [compute_push_delay(n, SCHEDULE, rand=0.0) for n in range(1, 12)]
    assert delays[:4] == [30.0, 60.0, 120.0, 240.0]
    assert delays == sorted(delays)
    assert delays[-1] == 3600.0


def test_no_try_is_scheduled_past_24_hours() -> None:
    created = now = 1_700_000_000.0
    attempt, tries = 1, [now]
    while (
        at := next_push_at(
            created_at=created, attempt=attempt, now=now, schedule=SCHEDULE, rand=0.0
        )
    ) is not None:
        now, attempt = at, attempt + 1
        tries.append(now)
    assert tries[-1] <= created + 86400
    assert tries[-1] + 3600 > created + 86400  # the schedule really used the 24 h
    assert 25 <= len(tries) <= 35


def test_a_schedule_must_make_sense() -> None:
    with pytest.raises(ValueError, match="base_s"):
        PushSchedule(base_s=0)
    with pytest.raises(ValueError, match="jitter"):
        PushSchedule(jitter=1.0)
    with pytest.raises(ValueError, match="attempt"):
        compute_push_delay(0, SCHEDULE)


def test_a_report_is_built_from_an_outcome_and_encoded_compactly() -> None:
    outcome = CallOutcome(
        CallStatus.ANSWERED, 200, 16, 1000.2, 1001.0, 1003.5, 1015.9, 12.4, "simulated"
    )
    report = StatusReport.from_outcome(
        voiceid="60495654", mobile="13800138000", outcome=outcome, submit_time=999.9, attempts=2
    )
    assert report.report_id == "60495654-2"
    body = encode_reports([report])
    assert b" " not in body
    assert json.loads(body) == [
        {
            "report_id": "60495654-2",
            "voiceid": "60495654",
            "mobile": "13800138000",
            "status": "ANSWERED",
            "sip_code": 200,
            "submit_time": 999,
            "ring_time": 1001,
            "answer_time": 1003,
            "end_time": 1015,
            "duration": 12,
            "attempts": 2,
        }
    ]


def test_steps_that_never_happened_are_zero() -> None:
    busy = CallOutcome(CallStatus.EXPIRED, None, None, end_at=1000.0)
    report = StatusReport.from_outcome(
        voiceid="1", mobile="13800138000", outcome=busy, submit_time=900, attempts=0
    )
    assert (report.sip_code, report.ring_time, report.answer_time, report.duration) == (0, 0, 0, 0)
