"""What one submit's report means for its row: the batch's rules in one table-like function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from voiceotp.client.batch.items import State
from voiceotp.errors import ConnectError, InvalidCode, InvalidMobile
from voiceotp.protocol import ACCOUNT_CODES, CodeClass, SubmitResult, classify

if TYPE_CHECKING:
    from voiceotp.client.batch.engine import SendReportLike


@dataclass(frozen=True, slots=True)
class Verdict:
    """The row's new state; ``retry`` when nothing was accepted and it may go again."""

    state: State
    result: SubmitResult | None = None
    reason: str | None = None
    retry: bool = False
    slow_down: bool = False  # the service asked us to go slower (4090, 0)
    stop: bool = False  # account-level: the whole run must stop


def judge(report: SendReportLike, *, retryable: bool) -> Verdict:
    """Classify ``report``. Only answers that prove nothing was accepted leave a row pending."""
    result, error = report.result, report.error
    if result is not None:
        return _judge_answer(result, retryable)
    if isinstance(error, ConnectError):
        # Never left the machine: safe to send again.
        return _not_accepted(None, f"connect failed: {error}", retryable, slow_down=False)
    if isinstance(error, InvalidMobile | InvalidCode):
        return Verdict(State.FAILED, reason=f"refused locally: {error}")
    # A timeout or dropped connection after the request left, or an unreadable answer:
    # the service may have accepted it.
    kind = type(error).__name__ if error is not None else "no answer"
    return Verdict(State.UNKNOWN, reason=f"outcome unknown ({kind}: {error})")


def _judge_answer(result: SubmitResult, retryable: bool) -> Verdict:
    if result.ok:
        return Verdict(State.SENT, result)
    if result.code in ACCOUNT_CODES:
        return Verdict(State.PENDING, result, f"run stopped: {result.code}", stop=True)
    if classify(result.code) is CodeClass.TRANSIENT:
        return _not_accepted(result, f"{result.code} {result.msg}", retryable, slow_down=True)
    return Verdict(State.FAILED, result)


def _not_accepted(
    result: SubmitResult | None, reason: str, retryable: bool, *, slow_down: bool
) -> Verdict:
    if retryable:
        return Verdict(State.PENDING, result, reason, retry=True, slow_down=slow_down)
    return Verdict(State.FAILED, result, reason, slow_down=slow_down)
