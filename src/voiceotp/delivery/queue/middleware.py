"""Queue behaviour as small pieces around each dial attempt (dramatiq's middleware idea).

A worker asks every middleware, in order, ``before_dial`` (an outcome here replaces the
call: it is not dialed) and ``after_dial`` (a follow-up job here is a redial), through
:func:`before_dial` and :func:`after_dial`, which also keep a middleware's bug from
failing the job. Two ship: :class:`DeadlineCheck` (an expired job is never dialed) and
:class:`Redial`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from voiceotp.delivery.dialer.base import CallOutcome, CallStatus, canonical_row
from voiceotp.delivery.queue.base import Job

__all__ = [
    "DeadlineCheck",
    "Middleware",
    "Redial",
    "RedialPolicy",
    "after_dial",
    "before_dial",
    "default_middleware",
]

log = logging.getLogger(__name__)


class Middleware(Protocol):
    """Hooks around one dial attempt; both are pure decisions (no I/O)."""

    def before_dial(self, job: Job, now: float) -> CallOutcome | None:
        """An outcome that ends the attempt without dialing, or None to go on."""
        ...

    def after_dial(self, job: Job, outcome: CallOutcome, now: float) -> Job | None:
        """A follow-up job (a redial), or None."""
        ...


class DeadlineCheck:
    """The code is only valid until the job's deadline: at or past it, EXPIRED — or
    QUIET_EXPIRED for a notice that quiet hours held past its deadline (its job was not
    due before the deadline: nothing else makes ``not_before >= deadline``)."""

    def before_dial(self, job: Job, now: float) -> CallOutcome | None:
        if now < job.deadline:
            return None
        held = job.not_before >= job.deadline
        row = canonical_row(CallStatus.QUIET_EXPIRED if held else CallStatus.EXPIRED)
        late = now - job.deadline
        return CallOutcome(
            row.status, row.sip_code, row.q850, end_at=now, detail=f"{late:.0f} s past deadline"
        )

    def after_dial(self, job: Job, outcome: CallOutcome, now: float) -> Job | None:
        return None


@dataclass(frozen=True)
class RedialPolicy:
    """Seconds to wait before each redial, per status: ``{NO_ANSWER: (30.0,)}`` (the
    default) redials once, 30 s after a ring-out; statuses not listed are never redialed."""

    delays: Mapping[CallStatus, Sequence[float]] = field(
        default_factory=lambda: {CallStatus.NO_ANSWER: (30.0,)}
    )

    def __post_init__(self) -> None:
        never = {
            CallStatus.ANSWERED,
            CallStatus.EXPIRED,
            CallStatus.RELAYED,
            CallStatus.QUIET_EXPIRED,
        }
        if never & set(self.delays):
            raise ValueError("answered, expired and relayed calls are never redialed")
        if any(d < 0 for delays in self.delays.values() for d in delays):
            raise ValueError("redial delays must be >= 0")

    def delay_after(self, status: CallStatus, attempt: int) -> float | None:
        """Seconds before attempt ``attempt + 1`` after ``status``, or None (no redial)."""
        delays = self.delays.get(status, ())
        return delays[attempt - 1] if attempt <= len(delays) else None


class Redial:
    """Schedules the next attempt per :class:`RedialPolicy`, if it can start before the
    deadline."""

    def __init__(self, policy: RedialPolicy | None = None) -> None:
        self.policy = policy or RedialPolicy()

    def before_dial(self, job: Job, now: float) -> CallOutcome | None:
        return None

    def after_dial(self, job: Job, outcome: CallOutcome, now: float) -> Job | None:
        delay = self.policy.delay_after(outcome.status, job.attempt)
        if delay is None:
            return None
        not_before = now + delay
        if not_before >= job.deadline:
            return None
        return replace(job, attempt=job.attempt + 1, not_before=not_before)


def default_middleware(policy: RedialPolicy | None = None) -> list[Middleware]:
    """Deadline check, then redials per ``policy``."""
    return [DeadlineCheck(), Redial(policy)]


def before_dial(middleware: Sequence[Middleware], job: Job, now: float) -> CallOutcome | None:
    """The first middleware outcome, if any. A middleware that raises ends the attempt
    FAILED (logged): a check that could not run must never let the call through."""
    for piece in middleware:
        try:
            outcome = piece.before_dial(job, now)
        except Exception as exc:
            hook = f"{type(piece).__name__}.before_dial"
            log.exception("%s failed for call %s; not dialed", hook, job.call_id)
            row = canonical_row(CallStatus.FAILED)
            detail = f"middleware {hook}: {type(exc).__name__}"
            return CallOutcome(row.status, row.sip_code, row.q850, end_at=now, detail=detail)
        if outcome is not None:
            return outcome
    return None


def after_dial(
    middleware: Sequence[Middleware], job: Job, outcome: CallOutcome, now: float
) -> Job | None:
    """The first middleware's follow-up job, if any. A middleware that raises means no
    redial (logged): the attempt is over either way, and the call ends with its outcome."""
    for piece in middleware:
        try:
            follow = piece.after_dial(job, outcome, now)
        except Exception:
            hook = f"{type(piece).__name__}.after_dial"
            log.exception("%s failed for call %s; not redialed", hook, job.call_id)
            return None
        if follow is not None:
            return follow
    return None
