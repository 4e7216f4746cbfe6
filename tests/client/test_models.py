"""Timeout and SendReport values."""

from __future__ import annotations

import pytest

from voiceotp.client import SendReport, Timeout
from voiceotp.errors import NumberError, UnknownOutcome
from voiceotp.protocol import SubmitResult


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
