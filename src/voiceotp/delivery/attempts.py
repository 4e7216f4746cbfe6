"""Writing call records (``call_attempts``, see :mod:`voiceotp.store.attempts`), done by
:class:`~voiceotp.delivery.fence.SqlFence` in the transaction that ends or requeues the
attempt."""

from __future__ import annotations

from voiceotp.delivery.dialer.base import CallOutcome, MediaQuality
from voiceotp.store.attempts import ATTEMPT_COLUMNS
from voiceotp.store.rows import Tx

__all__ = ["record_attempt_in"]


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
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) "
        "ON CONFLICT DO NOTHING",
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
        *_media_columns(outcome.media),
    )


def _media_columns(media: MediaQuality | None) -> tuple[object, ...]:
    if media is None:
        return (None,) * 5
    return (
        media.received,
        media.lost,
        media.jitter_ms,
        media.callee_lost,
        media.callee_jitter_ms,
    )
