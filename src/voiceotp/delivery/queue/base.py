"""The delivery queue's interfaces: jobs, the Queue, and the CallFence.

A :class:`Job` names one dial attempt of an accepted call (its voiceid). Queues deliver
jobs *at least once*: a job whose consumer died is claimed again by another after an idle
time. Dialing is still *at most once* because the call row in the store is the fence:
a worker dials only after :meth:`CallFence.claim_for_dialing` moved the row from
``queued`` to ``dialing`` for exactly this attempt; a redelivered job finds the row
``dialing`` or ``done`` and is never dialed again.

::

    store.accept ──enqueue(Job)──▶ Queue ──receive──▶ worker ──claim_for_dialing──▶ CallFence
                                    ▲                   │ dial (Dialer)
                                    └──enqueue(redial)──┤ requeue / finish ──────▶ CallFence
                                                        └ ack
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Protocol

from voiceotp.delivery.dialer.base import CallOutcome

__all__ = [
    "CallFence",
    "CallTicket",
    "Claim",
    "ClaimVerdict",
    "Delivery",
    "Job",
    "Queue",
    "decode_job",
    "encode_job",
]


@dataclass(frozen=True)
class Job:
    """One dial attempt: call ``call_id`` (the voiceid), attempt number ``attempt`` (1 =
    first dial), not before ``not_before`` and never at or after ``deadline`` (Unix s)."""

    call_id: str
    deadline: float
    attempt: int = 1
    not_before: float = 0.0


def encode_job(job: Job) -> str:
    """The job as compact JSON (the wire format of every backend)."""
    return json.dumps(
        [job.call_id, job.deadline, job.attempt, job.not_before], separators=(",", ":")
    )


def decode_job(data: str | bytes) -> Job:
    """The job :func:`encode_job` wrote."""
    call_id, deadline, attempt, not_before = json.loads(data)
    return Job(str(call_id), float(deadline), int(attempt), float(not_before))


@dataclass(frozen=True)
class Delivery:
    """A job handed to one consumer; ``receipt`` identifies it for ack/extend/dead_letter,
    ``deliveries`` counts how often this queue entry was handed out (1 = first time)."""

    job: Job
    receipt: str
    deliveries: int = 1


class Queue(Protocol):
    """Jobs for dialer workers: at-least-once delivery with leases (see module docstring)."""

    async def enqueue(self, job: Job) -> None:
        """Add ``job``; it becomes receivable at ``job.not_before``."""
        ...

    async def receive(
        self, consumer: str, *, count: int = 1, block_s: float = 0.0
    ) -> list[Delivery]:
        """Up to ``count`` due jobs leased to ``consumer``; waits up to ``block_s`` for one."""
        ...

    async def ack(self, delivery: Delivery) -> None:
        """The job is done (dialed, fenced out, or settled): never deliver it again."""
        ...

    async def extend(self, delivery: Delivery) -> None:
        """The consumer still works on it: restart its idle time (a lease renewal)."""
        ...

    async def claim_stale(self, consumer: str, *, idle_s: float, count: int = 10) -> list[Delivery]:
        """Lease to ``consumer`` jobs delivered but neither acked nor extended for
        ``idle_s`` seconds (their consumer is presumed dead); ``deliveries`` grows."""
        ...

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Park a job that keeps failing (with ``reason``) and ack it."""
        ...

    async def dead_letters(self) -> list[tuple[Job, str]]:
        """Parked jobs with their reasons, oldest first."""
        ...

    async def pending_count(self) -> int:
        """Jobs delivered and not yet acked."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class ClaimVerdict(enum.StrEnum):
    """What :meth:`CallFence.claim_for_dialing` found."""

    GRANTED = "granted"  # the row moved queued -> dialing for this attempt: dial it
    SETTLED = "settled"  # done, or this attempt was superseded: ack and drop the job
    IN_FLIGHT = "in_flight"  # another worker's lease is live: leave the job pending
    ORPHANED = "orphaned"  # dialing, lease expired: its dialer died mid-call


@dataclass(frozen=True)
class CallTicket:
    """What a worker needs to place a call (read by the claim, in one round trip)."""

    call_id: str
    mobile: str
    code: str
    language: str | None = None  # None: the gateway's default prompt language
    repeat: int = 2  # a notice's: its template's play_times
    notice: str = ""  # a voice notification's text ("" for a code's call)
    template: str = ""  # the text of the template it fills ("": not known any more)
    # its template's recorded fixed parts: (part index, file reference under data_dir)
    recordings: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Claim:
    """The fence's answer; ``ticket`` is set when GRANTED, ``attempt`` is the row's
    current attempt number (the one an ORPHANED call ends with)."""

    verdict: ClaimVerdict
    attempt: int = 0
    ticket: CallTicket | None = None


class CallFence(Protocol):
    """The call row's state machine, ``queued -> dialing -> done``, which makes dialing
    at-most-once under redelivery. The store implements it over the ``calls`` table;
    ``MemoryFence`` is the in-memory reference. Every method is atomic per call."""

    async def claim_for_dialing(
        self, call_id: str, *, attempt: int, worker: str, now: float, lease_s: float
    ) -> Claim:
        """GRANTED (row queued -> dialing, lease until ``now + lease_s``) exactly when the
        row is ``queued`` and its attempt counter is ``attempt - 1``; else see ClaimVerdict."""
        ...

    async def finish(self, call_id: str, outcome: CallOutcome, *, attempt: int) -> bool:
        """Record attempt ``attempt``'s outcome and move the row to ``done`` (final status,
        charge settled or refunded, status report queued). False if it was done already."""
        ...

    async def requeue(
        self, call_id: str, outcome: CallOutcome, *, attempt: int, not_before: float
    ) -> bool:
        """Record attempt ``attempt``'s outcome and move ``dialing -> queued`` for a redial
        at ``not_before``. False if the row is not this attempt's ``dialing``."""
        ...
