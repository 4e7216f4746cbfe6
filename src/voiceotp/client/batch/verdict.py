"""What one submit's report means for its row: the batch's rules in one table-like function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from voiceotp.client.batch.items import State
from voiceotp.client.models import outcome_unknown
from voiceotp.errors import ConnectError, InvalidCode, InvalidMobile, ProtocolError, UnknownOutcome
from voiceotp.protocol import ACCOUNT_CODES, CodeClass, SubmitResult, classify

if TYPE_CHECKING:
    from voiceotp.client.batch.engine import SendReportLike


@dataclass(frozen=True, slots=True)
class Verdict:
    """The row's new state; ``retry`` when nothing was accepted and it may go again.

    ``trouble`` says what is wrong with the service when this outcome is a sign of an
    outage (a connect failure with no attempts left, or an unknown outcome); the
    engine stops the run after a streak of them (see ``BatchOptions.trouble_limit``).
    """

    state: State
    result: SubmitResult | None = None
    reason: str | None = None
    retry: bool = False
    slow_down: bool = False  # the service asked us to go slower (4090, 0)
    stop: bool = False  # account-level: the whole run must stop
    trouble: str | None = None


def judge(report: SendReportLike, *, retryable: bool) -> Verdict:
    """Classify ``report``. Only answers that prove nothing was accepted leave a row pending."""
    result, error = report.result, report.error
    if result is not None:
        return _judge_answer(result, retryable)
    if isinstance(error, ConnectError):
        return _connect_failed(error, retryable)
    if isinstance(error, InvalidMobile | InvalidCode):
        return Verdict(State.FAILED, reason=f"refused locally: {error}")
    if outcome_unknown(result, error):
        # A timeout or dropped connection after the request left, or an unreadable
        # answer: the service may have accepted it.
        kind = type(error).__name__ if error is not None else "no answer"
        reason = f"outcome unknown ({kind}: {error})"
        return Verdict(State.UNKNOWN, reason=reason, trouble=_trouble(error))
    return Verdict(State.FAILED, reason=str(error))  # an APIError without its result


def _judge_answer(result: SubmitResult, retryable: bool) -> Verdict:
    if result.ok:
        return Verdict(State.SENT, result)
    if result.code in ACCOUNT_CODES:
        return Verdict(State.PENDING, result, f"run stopped: {result.code}", stop=True)
    if classify(result.code) is CodeClass.TRANSIENT:
        reason = f"{result.code} {result.msg}"
        state = State.PENDING if retryable else State.FAILED
        return Verdict(state, result, reason, retry=retryable, slow_down=True)
    return Verdict(State.FAILED, result)


def _connect_failed(error: ConnectError, retryable: bool) -> Verdict:
    # Never left the machine: no call can have been placed, so the row is never final.
    # With attempts left it goes again now; without, it waits (pending) for a later run.
    reason = f"connect failed: {error}"
    if retryable:
        return Verdict(State.PENDING, reason=reason, retry=True)
    return Verdict(State.PENDING, reason=reason, trouble=f"the service is unreachable: {error}")


def _trouble(error: BaseException | None) -> str:
    if isinstance(error, ProtocolError):
        return f"the service's answers are unreadable: {error}"
    if isinstance(error, UnknownOutcome) or error is None:
        return f"the service does not answer: {error or 'no answer'}"
    return f"the sender fails: {type(error).__name__}: {error}"


class TroubleStreak:
    """Counts outcomes with ``trouble`` in a row; any answer from the service (any code)
    resets it. A streak of ``limit`` means the service is down or broken, not one blip.

    The default limit, ``max(10, 2 * concurrency)``: when a service fails, the requests
    in flight fail together, so one blip (a restart, a dropped connection pool) costs up
    to ``concurrency`` rows; twice that means requests sent after the first failures
    failed too. The floor keeps a run at low concurrency going through isolated blips.
    """

    def __init__(self, limit: int | None, concurrency: int) -> None:
        limit = max(10, 2 * concurrency) if limit is None else limit
        if limit < 1:
            raise ValueError(f"trouble_limit must be at least 1 (or None), got {limit}")
        self.limit = limit
        self.count = 0

    def observe(self, verdict: Verdict) -> str | None:
        """Why the run must stop, once ``limit`` troubled outcomes came in a row; else None."""
        if verdict.result is not None:
            self.count = 0
        elif verdict.trouble is not None:
            self.count += 1
            if self.count >= self.limit:
                streak = f"{self.count} rows in a row with no answer from the service"
                return f"{verdict.trouble} ({streak})"
        return None
