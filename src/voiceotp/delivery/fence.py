"""The SQL call fence: at-most-once dialing over the ``calls`` table, and the call records.

:class:`SqlFence` implements :class:`~voiceotp.delivery.queue.base.CallFence` (the contract
is tests/delivery/queue/test_fence.py, shared with ``MemoryFence``). The row moves
``queued -> dialing -> <final status>``; a worker dials only after its claim moved the row
to ``dialing`` for exactly its attempt. A ``dialing`` row whose lease expired is ORPHANED:
its dialer died mid-call, so it is ended CANCELED, never dialed again.

:meth:`SqlFence.finish` does everything of a call's end in one transaction: the row's final
status, the attempt's call record (``call_attempts``), the charge (kept, or refunded when the
call never connected and the account's policy says so: the ledger stays equal to the
balance) and, when the account has a callback URL, the status report in the outbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from voiceotp.delivery.dialer.base import CallOutcome
from voiceotp.delivery.notify.outbox import OutboxItem
from voiceotp.delivery.notify.report import StatusReport
from voiceotp.delivery.notify.sqloutbox import insert_outbox_in, row_lock
from voiceotp.delivery.queue.base import CallTicket, Claim, ClaimVerdict
from voiceotp.store.base import Store
from voiceotp.store.keys import KeyBox
from voiceotp.store.records import refund_due
from voiceotp.store.rows import Row, Tx, adjust_in
from voiceotp.store.verify import ERASE_SEALED, SEALED_CODE, code_status_in

__all__ = ["AttemptRecord", "SqlFence", "voiceid_number"]

log = logging.getLogger(__name__)
_GRANT = (
    "UPDATE calls SET state = 'dialing', attempts = $2, claimed_by = $3, lease_until = $4 "
    "WHERE voiceid = $1 AND state = 'queued' AND attempts = $2 - 1 RETURNING mobile, content"
)
_LOCK_CALL = (
    "SELECT c.state, c.claimed_by, c.account_id, c.mobile, c.created_at, a.name, "
    "a.callback_url, a.refund_unconnected, c.attempts FROM calls c "
    "JOIN accounts a ON a.id = c.account_id WHERE c.voiceid = $1"
)
_ATTEMPT_COLUMNS = (
    "voiceid, attempt, status, sip_code, q850, submit_at, invite_at, ring_at, answer_at, "
    "end_at, duration, worker, detail"
)


def voiceid_number(call_id: str) -> int | None:
    """The voiceid as the integer key of ``calls``, or None when it cannot be one."""
    if call_id.isascii() and call_id.isdigit() and len(call_id) <= 19:
        number = int(call_id)
        return number if number < 2**63 else None
    return None


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


class SqlFence:
    """:class:`~voiceotp.delivery.queue.base.CallFence` of a SQL store.

    ``language`` and ``repeat`` fill the tickets (the gateway's prompt settings);
    ``refund_unconnected`` is the charge policy of accounts that set none themselves.
    """

    def __init__(
        self,
        store: Store,
        *,
        language: str | None = None,
        repeat: int = 2,
        refund_unconnected: bool = False,
        clock: Callable[[], float] = time.time,
        on_finished: Callable[[int, CallOutcome], Awaitable[None]] | None = None,
        keybox: KeyBox | None = None,
    ) -> None:
        """``on_finished`` is called after a finish committed, with the account id and the
        outcome (the gateway's abuse detectors count failures); its errors are logged.
        ``keybox`` opens the sealed codes of Verify calls (their ``content`` is empty)."""
        self.store = store
        self._keybox = keybox
        self.language, self.repeat = language, repeat
        self.refund_unconnected = refund_unconnected
        self._clock = clock
        self._lock_call = row_lock(store, "FOR UPDATE OF c")
        self._lock_code = row_lock(store, "FOR UPDATE")
        self.on_finished = on_finished

    async def claim_for_dialing(
        self, call_id: str, *, attempt: int, worker: str, now: float, lease_s: float
    ) -> Claim:
        number = voiceid_number(call_id)
        if number is None:
            return Claim(ClaimVerdict.SETTLED)

        async def work(tx: Tx) -> Claim:
            row = await tx.fetchrow(_GRANT, number, attempt, worker, now + lease_s)
            if row is not None:
                content = str(row[1]) or await self._sealed_code(tx, number)
                ticket = CallTicket(call_id, str(row[0]), content, self.language, self.repeat)
                return Claim(ClaimVerdict.GRANTED, attempt, ticket)
            found = await tx.fetchrow(
                "SELECT state, lease_until, attempts FROM calls WHERE voiceid = $1", number
            )
            if found is None:
                return Claim(ClaimVerdict.SETTLED)
            state, lease_until, attempts = str(found[0]), found[1], int(found[2])
            if state == "dialing":
                live = lease_until is not None and float(lease_until) > now
                return Claim(ClaimVerdict.IN_FLIGHT if live else ClaimVerdict.ORPHANED, attempts)
            return Claim(ClaimVerdict.SETTLED, attempts)  # done, or another attempt's job

        return await self.store._transact(work)

    async def _sealed_code(self, tx: Tx, number: int) -> str:
        """The code of a Verify call, opened (it is never stored in clear)."""
        found = await tx.fetchrow(SEALED_CODE, number)
        if found is None or found[0] is None or self._keybox is None:
            log.error("call %d has no content and no code this fence can open", number)
            return ""
        return self._keybox.open(str(found[0]))

    async def finish(
        self,
        call_id: str,
        outcome: CallOutcome,
        *,
        attempt: int,
        from_states: tuple[str, ...] = ("queued", "dialing"),
    ) -> bool:
        """See :meth:`CallFence.finish`; ``from_states`` narrows which rows may end (the
        sweep expires only ``queued`` ones: a row a worker just claimed is its to end)."""
        number = voiceid_number(call_id)
        if number is None:
            return False
        now = outcome.end_at or self._clock()

        async def work(tx: Tx) -> int | None:
            call = await self._lock(tx, number)
            if call is None or call[0] not in from_states:
                return None
            await tx.execute(
                "UPDATE calls SET state = $2, sip_code = $3, answer_time = $4, end_time = $5, "
                "duration = $6, claimed_by = NULL, lease_until = NULL, "
                "attempts = CASE WHEN attempts < $7 THEN $7 ELSE attempts END WHERE voiceid = $1",
                number,
                outcome.status.value,
                outcome.sip_code or 0,
                outcome.answer_at or 0.0,
                outcome.end_at or 0.0,
                round(outcome.duration_s),
                attempt,
            )
            await tx.execute(ERASE_SEALED, number)  # a Verify's code: not needed any more
            await self._record(tx, number, attempt, outcome, submit_at=call[4], worker=call[1])
            await self._settle_charge(tx, call, number, outcome, now)
            if call[6]:  # the account has a callback URL
                await self._queue_report(tx, call, call_id, outcome, attempt, now)
            return int(call[2])

        account_id = await self.store._transact(work)
        if account_id is not None and self.on_finished is not None:
            try:
                await self.on_finished(account_id, outcome)
            except Exception:
                log.exception("on_finished hook failed for call %s", call_id)
        return account_id is not None

    async def _settle_charge(
        self, tx: Tx, call: Row, number: int, outcome: CallOutcome, now: float
    ) -> None:
        """Keep the held unit, or refund it (the account's policy, else the server's)."""
        policy = self.refund_unconnected if call[7] is None else bool(call[7])
        if refund_due(outcome.status.value, refund_unconnected=policy) and not _connected(outcome):
            await adjust_in(tx, int(call[2]), 1, "refund", now, voiceid=number)

    async def _queue_report(
        self, tx: Tx, call: Row, call_id: str, outcome: CallOutcome, attempt: int, now: float
    ) -> None:
        # Locked: a Check that verifies the code now waits, then sees this call final
        # (and pushes its own report); so no verification goes unreported.
        verify = await code_status_in(tx, int(call_id), now, lock=self._lock_code)
        report = StatusReport.from_outcome(
            voiceid=call_id,
            mobile=str(call[3]),
            outcome=outcome,
            submit_time=float(call[4]),
            attempts=attempt,
            verify=("", 0.0) if verify is None else (verify.status, verify.verified_at),
        )
        await insert_outbox_in(tx, OutboxItem(report, str(call[5]), str(call[6]), now, next_at=now))

    async def requeue(
        self, call_id: str, outcome: CallOutcome, *, attempt: int, not_before: float
    ) -> bool:
        number = voiceid_number(call_id)
        if number is None:
            return False

        async def work(tx: Tx) -> bool:
            call = await self._lock(tx, number)
            if call is None or call[0] != "dialing" or int(call[8]) != attempt:
                return False
            await tx.execute(
                "UPDATE calls SET state = 'queued', not_before = $2, sip_code = $3, "
                "claimed_by = NULL, lease_until = NULL WHERE voiceid = $1",
                number,
                not_before,
                outcome.sip_code or 0,
            )
            await self._record(tx, number, attempt, outcome, submit_at=call[4], worker=call[1])
            return True

        return await self.store._transact(work)

    async def attempts(self, call_id: str) -> list[AttemptRecord]:
        """The call records of ``call_id``, first attempt first."""
        number = voiceid_number(call_id)
        if number is None:
            return []
        rows = await self.store.read(
            f"SELECT {_ATTEMPT_COLUMNS} FROM call_attempts WHERE voiceid = $1 ORDER BY attempt",  # noqa: S608
            number,
        )
        return [_attempt_from_row(r) for r in rows]

    async def _lock(self, tx: Tx, number: int) -> Row | None:
        """state, claimed_by, account_id, mobile, created_at, account name, callback URL,
        charge policy, attempts of the call, its row locked for this transaction."""
        return await tx.fetchrow(_LOCK_CALL + self._lock_call, number)

    async def _record(
        self,
        tx: Tx,
        number: int,
        attempt: int,
        outcome: CallOutcome,
        *,
        submit_at: float,
        worker: str | None,
    ) -> None:
        await tx.execute(
            f"INSERT INTO call_attempts ({_ATTEMPT_COLUMNS}) VALUES "  # noqa: S608 - constant
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
            number,
            attempt,
            outcome.status.value,
            outcome.sip_code,
            outcome.q850,
            float(submit_at),
            outcome.invite_at,
            outcome.ring_at,
            outcome.answer_at,
            outcome.end_at,
            float(outcome.duration_s),
            None if worker is None else str(worker),
            outcome.detail[:500],
        )


def _attempt_from_row(r: Row) -> AttemptRecord:
    return AttemptRecord(
        voiceid=str(r[0]),
        attempt=int(r[1]),
        status=str(r[2]),
        sip_code=r[3],
        q850=r[4],
        submit_at=float(r[5]),
        invite_at=r[6],
        ring_at=r[7],
        answer_at=r[8],
        end_at=r[9],
        duration_s=float(r[10]),
        worker=r[11],
        detail=str(r[12]),
    )


def _connected(outcome: CallOutcome) -> bool:
    """The callee picked up, even if the call then ended otherwise (e.g. CANCELED mid-call)."""
    return outcome.answer_at is not None
