"""Call records as the store keeps them: one row of ``call_attempts`` per dial attempt
(migration 0002; the dialer that placed it since 0008, RTP statistics since 0013).
Written by delivery's fence (``delivery/attempts.py``), read by the fence and the console."""

from __future__ import annotations

from dataclasses import dataclass

from voiceotp.store.base import Store
from voiceotp.store.rows import Row

__all__ = ["ATTEMPT_COLUMNS", "AttemptRecord", "attempt_from_row", "call_attempts", "last_ring_at"]

ATTEMPT_COLUMNS = (
    "voiceid, attempt, status, sip_code, q850, submit_at, invite_at, ring_at, answer_at, "
    "end_at, duration, worker, detail, dialer, rtp_in_packets, rtp_in_lost, rtp_in_jitter_ms, "
    "rtp_out_lost, rtp_out_jitter_ms"
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
    # RTP statistics (0013; None: not measured): the callee's RTP as received, and what
    # the callee's RTCP said of ours.
    rtp_in_packets: int | None = None
    rtp_in_lost: int | None = None
    rtp_in_jitter_ms: float | None = None
    rtp_out_lost: int | None = None
    rtp_out_jitter_ms: float | None = None


def attempt_from_row(row: Row) -> AttemptRecord:
    """A row of ``ATTEMPT_COLUMNS``: the record's fields, in its order."""
    voiceid, attempt, status, sip_code, q850, submit_at = row[:6]
    invite_at, ring_at, answer_at, end_at, duration, worker, detail, dialer = row[6:14]
    in_packets, in_lost, in_jitter, out_lost, out_jitter = row[14:19]
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
        rtp_in_packets=in_packets,
        rtp_in_lost=in_lost,
        rtp_in_jitter_ms=in_jitter,
        rtp_out_lost=out_lost,
        rtp_out_jitter_ms=out_jitter,
    )


async def call_attempts(store: Store, *, voiceid: int) -> list[AttemptRecord]:
    """The call's records, first attempt first."""
    sql = f"SELECT {ATTEMPT_COLUMNS} FROM call_attempts WHERE voiceid = $1 ORDER BY attempt"  # noqa: S608
    return [attempt_from_row(r) for r in await store.read(sql, voiceid)]


async def last_ring_at(store: Store, *, voiceid: int) -> float:
    """When the phone rang in the call's last recorded attempt (0.0: it never rang)."""
    rows = await store.read(
        "SELECT ring_at FROM call_attempts WHERE voiceid = $1 ORDER BY attempt DESC LIMIT 1",
        voiceid,
    )
    return float(rows[0][0] or 0.0) if rows else 0.0
