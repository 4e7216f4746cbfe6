"""The SQL call fence: at-most-once dialing over the ``calls`` table, and the call records.

:class:`SqlFence` implements :class:`~voiceotp.delivery.queue.base.CallFence` (the contract
is tests/delivery/queue/test_fence.py, shared with ``MemoryFence``). The row moves
``queued -> dialing -> <final status>``; a worker dials only after its claim moved the row
to ``dialing`` for exactly its attempt. A ``dialing`` row whose lease expired is ORPHANED:
its dialer died mid-call, so it is ended CANCELED, never dialed again.

:meth:`SqlFence.finish` does everything of a call's end in one transaction: the row's final
status, the code erased (``content`` becomes its keyed fingerprint: docs/privacy.md), the
attempt's call record (``call_attempts``), the charge (kept, or refunded when the call never
connected and the account's policy says so, or always when it provably never left: the
ledger stays equal to the balance) and, when the account has a callback URL, the status
report in the outbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from voiceotp.delivery.attempts import record_attempt_in
from voiceotp.delivery.dialer.base import CallOutcome
from voiceotp.delivery.notify.outbox import OutboxItem
from voiceotp.delivery.notify.report import StatusReport
from voiceotp.delivery.notify.sqloutbox import insert_outbox_in
from voiceotp.delivery.queue.base import CallTicket, Claim, ClaimVerdict
from voiceotp.store.attempts import AttemptRecord, call_attempts
from voiceotp.store.base import Store
from voiceotp.store.keys import ERASED_MARK, KeyBox
from voiceotp.store.records import NOTICE, refund_due
from voiceotp.store.rows import Row, Tx, adjust_in
from voiceotp.store.verify import ERASE_SEALED, SEALED_CODE, code_status_in
from voiceotp.store.voiceids import voiceid_number

__all__ = ["AttemptRecord", "LockedCall", "SqlFence"]

log = logging.getLogger(__name__)
_GRANT = (
    "UPDATE calls SET state = 'dialing', attempts = $2, claimed_by = $3, lease_until = $4 "
    "WHERE voiceid = $1 AND state = 'queued' AND attempts = $2 - 1 "
    "RETURNING mobile, content, kind, notice_text"
)
# The common claim in one statement (no BEGIN/COMMIT round trips): a code call whose
# digits are on the row. Notices, Verify codes (sealed) and refusals take the transaction.
_GRANT_CODE = (
    "UPDATE calls SET state = 'dialing', attempts = $2, claimed_by = $3, lease_until = $4 "
    "WHERE voiceid = $1 AND state = 'queued' AND attempts = $2 - 1 "
    "AND kind = 'code' AND content <> '' RETURNING mobile, content"
)
_LOCK_CALL = (  # the columns of LockedCall, in its order
    "SELECT c.state, c.claimed_by, c.account_id, c.mobile, c.created_at, a.name AS account, "
    "a.callback_url, a.refund_unconnected, c.attempts, c.content || c.notice_text AS content, "
    "EXISTS (SELECT 1 FROM verifications v WHERE v.voiceid = c.voiceid "
    "AND v.code_enc IS NOT NULL) AS sealed "
    "FROM calls c JOIN accounts a ON a.id = c.account_id WHERE c.voiceid = $1"
)
# The end of a call in one statement: its final status, and its code erased when $8 is
# not NULL (``content`` becomes $8, the code's fingerprint; a notice's text is emptied).
_END_CALL = (
    "UPDATE calls SET state = $2, sip_code = $3, answer_time = $4, end_time = $5, "
    "duration = $6, claimed_by = NULL, lease_until = NULL, "
    "attempts = CASE WHEN attempts < $7 THEN $7 ELSE attempts END, "
    "content = COALESCE($8, content), "
    "notice_text = CASE WHEN $8 IS NULL THEN notice_text ELSE '' END WHERE voiceid = $1"
)


class LockedCall(NamedTuple):
    """A call row locked for its end, with what its account says about the end."""

    state: str
    claimed_by: str | None  # the worker holding the lease
    account_id: int
    mobile: str
    created_at: float  # the Submit's time
    account: str  # the account's name
    callback_url: str  # "" when the account wants no status push
    refund_unconnected: bool | None  # the account's charge policy; None: the server's
    attempts: int
    content: str  # the code or a notice's text while the call lives (erased at the end)
    sealed: bool  # a Verify's sealed code is still stored (erased at the end)

    @classmethod
    def from_row(cls, row: Row) -> LockedCall:
        state, claimed_by, account_id, mobile, created_at, account, url, refund = row[:8]
        attempts, content, sealed = row[8:]
        return cls(
            state=str(state),
            claimed_by=None if claimed_by is None else str(claimed_by),
            account_id=int(account_id),
            mobile=str(mobile),
            created_at=float(created_at),
            account=str(account),
            callback_url=str(url or ""),
            refund_unconnected=None if refund is None else bool(refund),
            attempts=int(attempts),
            content=str(content),
            sealed=bool(sealed),
        )


async def _template_of(tx: Tx, number: int) -> tuple[str, int, tuple[tuple[int, str], ...]]:
    """The text of the template a notice fills (its fixed parts are rendered once), how
    many times it is said, and its parts' recordings (part index, file reference)."""
    found = await tx.fetchrow(
        "SELECT t.id, t.text, t.play_times FROM calls c "
        "JOIN notice_templates t ON t.id = c.template_id WHERE c.voiceid = $1",
        number,
    )
    if found is None:
        return "", 1, ()
    rows = await tx.fetch(
        "SELECT part, file_ref FROM template_recordings WHERE template_id = $1", found[0]
    )
    return str(found[1]), int(found[2]), tuple((int(p), str(ref)) for p, ref in rows)


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
        self._lock_call = _LOCK_CALL + store.row_lock("FOR UPDATE OF c")
        self._lock_code = store.row_lock("FOR UPDATE")
        self.on_finished = on_finished
        self.codes_erased = 0  # codes this fence erased (the sweep scrubs the journal after)

    async def claim_for_dialing(
        self, call_id: str, *, attempt: int, worker: str, now: float, lease_s: float
    ) -> Claim:
        number = voiceid_number(call_id)
        if number is None:
            return Claim(ClaimVerdict.SETTLED)

        granted = await self.store.write_one(_GRANT_CODE, number, attempt, worker, now + lease_s)
        if granted is not None:
            mobile, code = granted
            ticket = CallTicket(call_id, str(mobile), str(code), self.language, self.repeat)
            return Claim(ClaimVerdict.GRANTED, attempt, ticket)

        async def work(tx: Tx) -> Claim:
            granted = await tx.fetchrow(_GRANT, number, attempt, worker, now + lease_s)
            if granted is not None:
                mobile, code, kind, notice = granted
                if kind == NOTICE:  # a notification speaks its text, never a code
                    template, times, recordings = await _template_of(tx, number)
                    ticket = CallTicket(
                        call_id,
                        str(mobile),
                        "",
                        self.language,
                        times,
                        notice=str(notice),
                        template=template,
                        recordings=recordings,
                    )
                    return Claim(ClaimVerdict.GRANTED, attempt, ticket)
                code = str(code) or await self._sealed_code(tx, number)
                ticket = CallTicket(call_id, str(mobile), code, self.language, self.repeat)
                return Claim(ClaimVerdict.GRANTED, attempt, ticket)
            found = await tx.fetchrow(
                "SELECT state, lease_until, attempts FROM calls WHERE voiceid = $1", number
            )
            if found is None:
                return Claim(ClaimVerdict.SETTLED)
            state, lease_until, attempts = found
            if state == "dialing":
                live = lease_until is not None and float(lease_until) > now
                verdict = ClaimVerdict.IN_FLIGHT if live else ClaimVerdict.ORPHANED
                return Claim(verdict, int(attempts))
            return Claim(ClaimVerdict.SETTLED, int(attempts))  # done, or another attempt's job

        return await self.store.transact(work)

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
            if call is None or call.state not in from_states:
                return None
            await tx.execute(
                _END_CALL,
                number,
                outcome.status.value,
                outcome.sip_code or 0,
                outcome.answer_at or 0.0,
                outcome.end_at or 0.0,
                round(outcome.duration_s),
                attempt,
                self._erased_content(call),
            )
            if call.sealed:  # a Verify's code: not needed any more
                await tx.execute(ERASE_SEALED, number)
            await record_attempt_in(
                tx, number, attempt, outcome, submit_at=call.created_at, worker=call.claimed_by
            )
            await self._settle_charge(tx, call, number, outcome, now)
            if call.callback_url:
                await self._queue_report(tx, call, call_id, outcome, attempt, now)
            return call.account_id

        account_id = await self.store.transact(work)
        if account_id is not None and self.on_finished is not None:
            try:
                await self.on_finished(account_id, outcome)
            except Exception:
                log.exception("on_finished hook failed for call %s", call_id)
        return account_id is not None

    def _erased_content(self, call: LockedCall) -> str | None:
        """What ``content`` becomes now that the call has ended (None: nothing to erase).
        Its code (or a notice's text) is not needed any more (it was kept only to render
        the audio, redial or relay). Its fingerprint stays in ``content`` for idempotent
        replays, ``notice_text`` is emptied; without the server key (a fence built without
        ``keybox``) both are just emptied. Counted in ``codes_erased`` (the transaction
        may still roll back: the count only prompts the journal scrub)."""
        if not call.content or call.content.startswith(ERASED_MARK):
            return None
        self.codes_erased += 1
        return "" if self._keybox is None else self._keybox.fingerprint(call.mobile, call.content)

    async def _settle_charge(
        self, tx: Tx, call: LockedCall, number: int, outcome: CallOutcome, now: float
    ) -> None:
        """Keep the held unit, or refund it (the account's policy, else the server's); a
        call that provably never left is refunded whatever the policy."""
        policy = call.refund_unconnected
        if policy is None:
            policy = self.refund_unconnected
        due = outcome.never_left or refund_due(outcome.status.value, refund_unconnected=policy)
        if due and not _connected(outcome):
            await adjust_in(tx, call.account_id, 1, "refund", now, voiceid=number)

    async def _queue_report(
        self,
        tx: Tx,
        call: LockedCall,
        call_id: str,
        outcome: CallOutcome,
        attempt: int,
        now: float,
    ) -> None:
        # Locked: a Check that verifies the code now waits, then sees this call final
        # (and pushes its own report); so no verification goes unreported.
        verify = await code_status_in(tx, int(call_id), now, lock=self._lock_code)
        report = StatusReport.from_outcome(
            voiceid=call_id,
            mobile=call.mobile,
            outcome=outcome,
            submit_time=call.created_at,
            attempts=attempt,
            verify=("", 0.0) if verify is None else (verify.status, verify.verified_at),
        )
        item = OutboxItem(report, call.account, call.callback_url, now, next_at=now)
        await insert_outbox_in(tx, item)

    async def requeue(
        self, call_id: str, outcome: CallOutcome, *, attempt: int, not_before: float
    ) -> bool:
        number = voiceid_number(call_id)
        if number is None:
            return False

        async def work(tx: Tx) -> bool:
            call = await self._lock(tx, number)
            if call is None or call.state != "dialing" or call.attempts != attempt:
                return False
            await tx.execute(
                "UPDATE calls SET state = 'queued', not_before = $2, sip_code = $3, "
                "claimed_by = NULL, lease_until = NULL WHERE voiceid = $1",
                number,
                not_before,
                outcome.sip_code or 0,
            )
            await record_attempt_in(
                tx, number, attempt, outcome, submit_at=call.created_at, worker=call.claimed_by
            )
            return True

        return await self.store.transact(work)

    async def attempts(self, call_id: str) -> list[AttemptRecord]:
        """The call records of ``call_id``, first attempt first."""
        number = voiceid_number(call_id)
        if number is None:
            return []
        return await call_attempts(self.store, voiceid=number)

    async def _lock(self, tx: Tx, number: int) -> LockedCall | None:
        """The call, its row locked for this transaction (None: no such call)."""
        row = await tx.fetchrow(self._lock_call, number)
        return None if row is None else LockedCall.from_row(row)


def _connected(outcome: CallOutcome) -> bool:
    """The callee picked up, even if the call then ended otherwise (e.g. CANCELED mid-call)."""
    return outcome.answer_at is not None
