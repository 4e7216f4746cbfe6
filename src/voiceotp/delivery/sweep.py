"""The delivery sweep: what no queue will ever deliver again gets an end or a new job.

- ``queued`` rows past their deadline end ``EXPIRED`` (refunded per the charge policy,
  reported like any other end): a code too old is never dialed.
- ``dialing`` rows whose lease expired end ``CANCELED`` ("dialer lost mid-call"): their
  dialer died during the call; dialing again could ring the phone twice.
- ``queued`` rows due for ``requeue_after_s`` without being claimed have probably lost
  their job (a crash between accept and enqueue, a trimmed stream): :meth:`Sweeper.lost_jobs`
  names them so the runtime enqueues them again. A duplicate job is harmless: the fence
  grants each attempt once.

Everything ends through :meth:`SqlFence.finish`, so call records, ledger and outbox stay
consistent with the workers' own ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceotp.delivery.dialer.base import CallOutcome, CallStatus, canonical_row
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.queue.base import Job
from voiceotp.store.rows import Tx

__all__ = ["SweepResult", "Sweeper", "ended"]

_QUEUED, _DIALING = ("queued",), ("dialing",)
_LOST = (
    "SELECT voiceid, deadline, attempts FROM calls WHERE state = 'queued' "
    "AND created_at < $1 AND not_before < $1 AND deadline > $2"
)


def ended(status: CallStatus, now: float, detail: str) -> CallOutcome:
    """The outcome of a call ended without (further) dialing."""
    row = canonical_row(status)
    return CallOutcome(status, row.sip_code, row.q850, end_at=now, detail=detail)


@dataclass(frozen=True)
class SweepResult:
    expired: list[str]
    canceled: list[str]
    lost: list[Job]


class Sweeper:
    """Periodic repair of the calls table (see the module docstring)."""

    def __init__(self, fence: SqlFence, *, requeue_after_s: float = 60.0, batch: int = 200):
        self.fence, self.store = fence, fence.store
        self.requeue_after_s, self.batch = requeue_after_s, batch

    async def expire(self, now: float) -> list[str]:
        """End queued calls past their deadline EXPIRED (QUIET_EXPIRED: a notice that quiet
        hours held past it, its ``not_before`` at or after the deadline)."""
        rows = await self.store.read(
            "SELECT voiceid, attempts, deadline, not_before FROM calls WHERE state = 'queued' "
            "AND deadline <= $1 ORDER BY created_at LIMIT $2",
            now,
            self.batch,
        )
        done = []
        for voiceid, attempts, deadline, not_before in rows:
            held = float(not_before) >= float(deadline)
            status = CallStatus.QUIET_EXPIRED if held else CallStatus.EXPIRED
            detail = "held by quiet hours; " if held else ""
            outcome = ended(status, now, f"{detail}{now - float(deadline):.0f} s past deadline")
            attempt = int(attempts) + 1
            if await self.fence.finish(str(voiceid), outcome, attempt=attempt, from_states=_QUEUED):
                done.append(str(voiceid))
        return done

    async def cancel_orphans(self, now: float, *, worker: str | None = None) -> list[str]:
        """End CANCELED the calls in ``dialing`` whose lease expired — or, with ``worker``,
        every call that worker holds (a restarted worker's own calls of its past life)."""
        sql = "SELECT voiceid, attempts FROM calls WHERE state = 'dialing' AND "
        rows = await (
            self.store.read(sql + "lease_until < $1 LIMIT $2", now, self.batch)
            if worker is None
            else self.store.read(sql + "claimed_by = $1 LIMIT $2", worker, self.batch)
        )
        done = []
        for voiceid, attempts in rows:
            outcome = ended(CallStatus.CANCELED, now, "dialer lost mid-call")
            if await self.fence.finish(
                str(voiceid), outcome, attempt=int(attempts), from_states=_DIALING
            ):
                done.append(str(voiceid))
        return done

    async def lost_jobs(self, now: float) -> list[Job]:
        """Jobs for queued calls due for ``requeue_after_s`` and still not claimed; their
        ``not_before`` moves to ``now`` so the next sweeps wait as long again before
        re-enqueueing them (a backlog is not flooded with duplicates)."""
        since = now - self.requeue_after_s
        if not await self.store.read(_LOST + " LIMIT 1", since, now):
            return []  # the common case, without taking the write lock

        async def work(tx: Tx) -> list[Job]:
            rows = await tx.fetch(_LOST + " ORDER BY created_at LIMIT $3", since, now, self.batch)
            for voiceid, _, _ in rows:
                await tx.execute(
                    "UPDATE calls SET not_before = $2 WHERE voiceid = $1", voiceid, now
                )
            return [Job(str(v), float(d), int(a) + 1) for v, d, a in rows]

        return await self.store.transact(work)

    async def sweep(self, now: float, *, find_lost: bool = True) -> SweepResult:
        """One round: expire, cancel orphans, and (optionally) find lost jobs."""
        expired = await self.expire(now)
        canceled = await self.cancel_orphans(now)
        lost = await self.lost_jobs(now) if find_lost else []
        return SweepResult(expired, canceled, lost)
