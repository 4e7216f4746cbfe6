"""What the batch journal stores and gives back: marks, outcomes and whole records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceotp.client.batch.items import State


@dataclass(frozen=True, slots=True)
class Mark:
    """An item about to be sent: stored before the request leaves."""

    row: int
    time: str | None
    attempts: int
    started_at: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one request."""

    row: int
    state: State
    attempts: int
    finished_at: float
    result_code: int | None = None
    msg: str | None = None
    voiceid: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """A row as the journal holds it (for outputs and summaries)."""

    row: int
    mobile: str | None
    code: str | None
    state: State
    result_code: int | None
    msg: str | None
    voiceid: str | None
    attempts: int
    time: str | None
    reason: str | None
    raw: str | None
    started_at: float | None
    finished_at: float | None


def record_from_row(values: tuple[Any, ...]) -> Record:
    row, mobile, code, state, result_code, msg, voiceid, attempts, time, reason, raw = values[:11]
    return Record(
        row=row,
        mobile=mobile,
        code=code,
        state=State(state),
        result_code=result_code,
        msg=msg,
        voiceid=voiceid,
        attempts=attempts,
        time=time,
        reason=reason,
        raw=raw,
        started_at=values[11],
        finished_at=values[12],
    )
