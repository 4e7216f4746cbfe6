"""The retry rules and the backoff, as pure functions."""

from __future__ import annotations

import logging

import pytest

from voiceotp.client.retry import RetryPolicy, compute_backoff, should_retry
from voiceotp.errors import ConnectError, InvalidMobile, UnknownOutcome
from voiceotp.protocol import GetNumResult, ProtocolError, SubmitResult

POLICY = RetryPolicy(max_attempts=3, backoff_base_s=1.0, backoff_max_s=8.0, jitter=0.5)


def decide(outcome: object, *, attempt: int = 1, slept: float = 0.0, **kw: bool):
    kw.setdefault("idempotent", False)
    kw.setdefault("server_dedupes", False)
    return should_retry(outcome, attempt=attempt, slept_s=slept, policy=POLICY, rand=0.0, **kw)


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [(1, 0.0, 1.0), (2, 0.0, 2.0), (3, 0.0, 4.0), (4, 0.0, 8.0), (9, 0.0, 8.0), (1, 1.0, 0.5)],
)
def test_backoff_doubles_up_to_the_cap_minus_jitter(
    attempt: int, rand: float, expected: float
) -> None:
    assert compute_backoff(attempt, POLICY, rand) == expected


def test_backoff_jitter_stays_in_bounds() -> None:
    delays = {compute_backoff(2, POLICY) for _ in range(200)}
    assert all(1.0 <= d <= 2.0 for d in delays)
    assert len(delays) > 1  # it really is jittered


@pytest.mark.parametrize("code", [0, 4090])
def test_transient_codes_are_retried(code: int) -> None:
    decision = decide(SubmitResult(code, "x"))
    assert decision.retry
    assert decision.delay_s == 1.0
    assert str(code) in decision.reason


@pytest.mark.parametrize("code", [2, 400, 405, 4030, 406, 4051, 4070, 4081, 12345])
def test_other_codes_are_final(code: int) -> None:
    assert not decide(SubmitResult(code, "x")).retry


def test_connect_error_is_retried_even_for_submit() -> None:
    assert decide(ConnectError("refused")).retry


def test_unknown_outcome_of_a_submit_is_never_retried() -> None:
    decision = decide(UnknownOutcome("read timeout"))
    assert not decision.retry
    assert "never re-sent" in decision.reason


def test_unknown_outcome_is_replayed_when_the_server_dedupes() -> None:
    decision = decide(UnknownOutcome("read timeout"), server_dedupes=True)
    assert decision.retry
    assert "replaying exactly" in decision.reason


def test_unknown_outcome_of_a_read_only_request_is_retried() -> None:
    assert decide(UnknownOutcome("read timeout"), idempotent=True).retry


def test_protocol_error_follows_the_unknown_outcome_rule() -> None:
    assert not decide(ProtocolError("html page", b"<html>")).retry
    assert decide(ProtocolError("html page", b"<html>"), idempotent=True).retry
    assert decide(ProtocolError("html page", b"<html>"), server_dedupes=True).retry


def test_local_errors_are_not_retried() -> None:
    assert not decide(InvalidMobile("bad")).retry


def test_attempts_are_capped() -> None:
    assert decide(SubmitResult(0, "x"), attempt=2).retry
    decision = decide(SubmitResult(0, "x"), attempt=3)
    assert not decision.retry
    assert "3 attempts used" in decision.reason


def test_budget_caps_total_sleep() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_base_s=1.0, jitter=0.0, budget_s=2.5)
    kw = {"idempotent": True, "server_dedupes": False, "policy": policy}
    assert should_retry(GetNumResult(0, "x"), attempt=1, slept_s=0.0, **kw).retry
    late = should_retry(GetNumResult(0, "x"), attempt=2, slept_s=1.0, **kw)
    assert not late.retry
    assert "budget" in late.reason


def test_never_policy_makes_one_attempt() -> None:
    policy = RetryPolicy.never()
    decision = should_retry(
        ConnectError("x"), attempt=1, slept_s=0, policy=policy, idempotent=True, server_dedupes=True
    )
    assert not decision.retry


def test_each_decision_logs_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="voiceotp.client"):
        decide(SubmitResult(4090, "x"))
        decide(UnknownOutcome("x"))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "retrying after attempt 1: code 4090: nothing was accepted",
        "not retrying after attempt 1: no answer; the request may have been accepted,"
        " never re-sent",
    ]
