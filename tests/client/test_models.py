"""Timeout and SendReport values."""

from __future__ import annotations

import math

import pytest

from tests.client.conftest import MakeTwin
from voiceotp.client import AsyncClient, Client, SendReport, Timeout
from voiceotp.client.models import outcome_unknown
from voiceotp.errors import (
    ConnectError,
    InvalidCode,
    InvalidMobile,
    NumberError,
    ProtocolError,
    UnknownOutcome,
)
from voiceotp.protocol import SubmitResult
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (3.0, Timeout(connect=3.0, read=3.0, total=3.0)),
        (20.0, Timeout(connect=5.0, read=20.0, total=20.0)),
        (None, Timeout(None, None, None)),
        (Timeout(1, 2, 3), Timeout(1, 2, 3)),
    ],
)
def test_timeout_of(given: float | Timeout | None, expected: Timeout) -> None:
    assert Timeout.of(given) == expected


def test_default_timeout_needs_no_separate_read_timer() -> None:
    default = Timeout()
    assert default.read is not None
    assert default.total is not None
    assert default.read >= default.total  # the total deadline covers the read phase


def test_report_properties() -> None:
    ok = SendReport("13800138000", SubmitResult(2, "提交成功", "9"), None, 1, "1700000000")
    assert (ok.ok, ok.outcome_unknown, ok.voiceid) == (True, False, "9")
    refused = SendReport("13800138000", SubmitResult(4030, "x"), NumberError(4030, "x"), 1, None)
    assert (refused.ok, refused.outcome_unknown, refused.voiceid) == (False, False, None)
    lost = SendReport("13800138000", None, UnknownOutcome("lost"), 1, "1700000000")
    assert (lost.ok, lost.outcome_unknown, lost.voiceid) == (False, True, None)


@pytest.mark.parametrize("seconds", [0, 0.0, -1, -0.5, math.nan, math.inf, -math.inf])
def test_a_timeout_must_be_a_finite_number_above_zero(seconds: float) -> None:
    with pytest.raises(ValueError, match="finite number of seconds above 0"):
        Timeout.of(seconds)
    with pytest.raises(ValueError, match="timeout read"):
        Timeout(connect=1, read=seconds, total=None)


def test_a_timeout_must_be_a_number() -> None:
    with pytest.raises(ValueError, match="number of seconds or None"):
        Timeout.of("5")  # type: ignore[arg-type]


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
@pytest.mark.parametrize("seconds", [-1, 0, math.nan])
def test_clients_refuse_a_bad_timeout_when_built(
    client_class: type[Client | AsyncClient], seconds: float
) -> None:
    with pytest.raises(ValueError, match="timeout"):
        client_class(DEFAULT_ACCOUNT, DEFAULT_APIKEY, timeout=seconds)


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (UnknownOutcome("read timeout"), True),
        (ProtocolError("not an ihuyi document", b"<html>500</html>"), True),
        (RuntimeError("a sender broke"), True),
        (ConnectError("refused"), False),
        (InvalidMobile("not a mainland mobile number"), False),
        (InvalidCode("the code must be 4 to 6 ASCII digits"), False),
        (NumberError(4030, "x"), False),
    ],
)
def test_outcome_unknown_is_anything_that_may_have_been_accepted(
    error: Exception, unknown: bool
) -> None:
    assert outcome_unknown(None, error) is unknown
    report = SendReport("13800138000", None, error, 1, None)  # type: ignore[arg-type]
    assert report.outcome_unknown is unknown


async def test_an_unreadable_answer_to_a_submit_is_an_unknown_outcome(
    make_twin: MakeTwin,
) -> None:
    twin = make_twin(handler=lambda url, form: b"<html><h1>500 Internal Server Error</h1></html>")
    report = await twin.submit("13800138000", "1234")
    assert isinstance(report.error, ProtocolError)
    assert report.outcome_unknown
