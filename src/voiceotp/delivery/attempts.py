"""Call records: one row of ``call_attempts`` per dial attempt (migration 0002; the dialer
that placed it since 0008), written by :class:`~voiceotp.delivery.fence.SqlFence` in the
transaction that ends or requeues the attempt."""

from __future__ import annotations

from dataclasses import dataclass

from voiceotp.delivery.dialer.base import CallOutcome
from voiceotp.store.rows import Row, Tx

__all__ = ["ATTEMPT_COLUMNS", "AttemptRecord", "attempt_from_row", "record_attempt_in"]

ATTEMPT_COLUMNS = (
    "voiceid, attempt, status, sip_code, q850, submit_at, invite_at, ring_at, answer_at, "
    "end_at, duration, worker, detail, dialer"
)


@dataclass(frozen=True)
class AttemptRecord:
    """One dial attempt of a call, as recorded (times Unix seconds, None: did not happen)."""

    voiceid: str
    attempt: int
    status: str
    sip_code: int | None
    q850: int | None
    submit_at: float
    invite_at: float | None
    ring_at: float | None
    answer_at: float | None
    end_at: float | None
    duration_s: float
    worker: str | None
    detail: str
    dialer: str | None = None  # what placed the call (migration 0008); None: not dialed


async def record_attempt_in(
    tx: Tx,
    number: int,
    attempt: int,
    outcome: CallOutcome,
    *,
    submit_at: float,
    worker: str | None,
) -> None:
    """The call record of attempt ``attempt`` of call ``number``, inside ``tx`` (a record
    already there is left alone)."""
    await tx.execute(
        f"INSERT INTO call_attempts ({ATTEMPT_COLUMNS}) VALUES "  # noqa: S608 - constant
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
        number,
        attempt,
        outcome.status.value,
        outcome.sip_code,
        outcome.q850,
        submit_at,
        outcome.invite_at,
        outcome.ring_at,
        outcome.answer_at,
        outcome.end_at,
        float(outcome.duration_s),
        worker,
        outcome.detail[:500],
        outcome.dialer[:200] or None,
    )


def attempt_from_row(row: Row) -> AttemptRecord:
    """A row of ``ATTEMPT_COLUMNS``: the record's fields, in its order."""
    voiceid, attempt, status, sip_code, q850, submit_at = row[:6]
    invite_at, ring_at, answer_at, end_at, duration, worker, detail, dialer = row[6:]
    return AttemptRecord(
        voiceid=str(voiceid),
        attempt=int(attempt),
        status=str(status),
        sip_code=sip_code,
        q850=q850,
        submit_at=float(submit_at),
        invite_at=invite_at,
        ring_at=ring_at,
        answer_at=answer_at,
        end_at=end_at,
        duration_s=float(duration),
        worker=worker,
        detail=str(detail),
        dialer=None if dialer is None else str(dialer),
    )
