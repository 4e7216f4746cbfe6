"""The outbox: status reports waiting to be pushed, what became of each, and every push
tried (:class:`PushAttempt`: one per report per POST, for the console's call page).

The SQL store implements :class:`Outbox` over an ``outbox`` table written in the same
transaction that finishes the call (and a ``push_attempts`` table);
:class:`MemoryOutbox` is the reference for tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from voiceotp.delivery.notify.report import StatusReport
from voiceotp.store.records import PushAttempt

__all__ = ["ERROR_LIMIT", "MemoryOutbox", "Outbox", "OutboxItem", "PushAttempt"]

#: what a push attempt keeps of its error text (``push_attempts.error`` is VARCHAR(200))
ERROR_LIMIT = 200


@dataclass(frozen=True)
class OutboxItem:
    """One report to push to ``callback_url`` of ``account`` (the APIID; its APIKEY signs).

    ``attempts`` counts pushes tried so far; ``next_at`` is when it is due (Unix s).
    """

    report: StatusReport
    account: str
    callback_url: str
    created_at: float
    attempts: int = 0
    next_at: float = 0.0

    @property
    def report_id(self) -> str:
        return self.report.report_id


class Outbox(Protocol):
    """Pending pushes. ``due`` leases what it returns for ``lease_s`` (so two notifier
    processes do not push the same report at once); the other methods settle a report."""

    async def add(self, item: OutboxItem) -> None:
        """Queue a report (a second add of the same ``report_id`` is ignored)."""
        ...

    async def due(self, now: float, limit: int, *, lease_s: float = 60.0) -> list[OutboxItem]:
        """Up to ``limit`` pending items with ``next_at <= now``, oldest first, leased."""
        ...

    async def mark_delivered(self, report_ids: Sequence[str], now: float) -> None:
        """A 2xx answer acknowledged these reports: never push them again."""
        ...

    async def mark_retry(self, report_id: str, next_at: float, error: str) -> None:
        """This try failed (``error``): count it and try again at ``next_at``."""
        ...

    async def give_up(self, report_id: str, reason: str) -> None:
        """Stop trying (24 h are over, or no key/URL any more); kept for the record."""
        ...

    async def record_push_attempts(self, attempts: Sequence[PushAttempt]) -> None:
        """Keep these pushes (one POST: one attempt per report it carried); an ``error``
        is cut to :data:`ERROR_LIMIT` characters."""
        ...

    async def push_attempts(self, voiceid: str) -> list[PushAttempt]:
        """The pushes of the reports of call ``voiceid``, in the order they were recorded."""
        ...


@dataclass
class _Entry:
    item: OutboxItem
    state: str = "pending"  # pending -> delivered | abandoned
    note: str = ""


class MemoryOutbox:
    """An in-memory :class:`Outbox` (the contract the SQL outbox follows)."""

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.attempts: list[PushAttempt] = []

    async def add(self, item: OutboxItem) -> None:
        self.entries.setdefault(item.report_id, _Entry(item))

    async def due(self, now: float, limit: int, *, lease_s: float = 60.0) -> list[OutboxItem]:
        ready = [e for e in self.entries.values() if e.state == "pending" and e.item.next_at <= now]
        ready.sort(key=lambda e: (e.item.next_at, e.item.created_at))
        taken = [e.item for e in ready[:limit]]
        for item in taken:  # the lease: invisible to other notifiers until settled
            self.entries[item.report_id].item = replace(item, next_at=now + lease_s)
        return taken

    async def mark_delivered(self, report_ids: Sequence[str], now: float) -> None:
        for report_id in report_ids:
            entry = self.entries[report_id]
            entry.state, entry.note = "delivered", f"at {now:.0f}"
            entry.item = replace(entry.item, attempts=entry.item.attempts + 1)

    async def mark_retry(self, report_id: str, next_at: float, error: str) -> None:
        entry = self.entries[report_id]
        entry.note = error
        entry.item = replace(entry.item, attempts=entry.item.attempts + 1, next_at=next_at)

    async def give_up(self, report_id: str, reason: str) -> None:
        entry = self.entries[report_id]
        entry.state, entry.note = "abandoned", reason

    async def record_push_attempts(self, attempts: Sequence[PushAttempt]) -> None:
        self.attempts.extend(replace(a, error=a.error[:ERROR_LIMIT]) for a in attempts)

    async def push_attempts(self, voiceid: str) -> list[PushAttempt]:
        return [a for a in self.attempts if a.voiceid == voiceid]

    def state(self, report_id: str) -> str:
        """pending, delivered or abandoned."""
        return self.entries[report_id].state
