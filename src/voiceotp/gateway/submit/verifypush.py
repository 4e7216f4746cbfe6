"""The status push of a verification: when Check succeeds after the call ended, the
account's callback gets the call's report again, now with ``verify_status=verified`` and
``verify_time`` (report id ``<voiceid>-verified``). A call still ringing needs none: its
final report, written by the call fence, reads the code's status under a row lock.
"""

from __future__ import annotations

from voiceotp.delivery.notify.outbox import OutboxItem
from voiceotp.delivery.notify.report import StatusReport
from voiceotp.delivery.notify.sqloutbox import insert_outbox_in
from voiceotp.store import Store
from voiceotp.store.attempts import last_ring_at
from voiceotp.store.records import FINAL_STATES
from voiceotp.store.rows import Tx

_CALL = (
    "SELECT c.state, c.mobile, c.created_at, c.sip_code, c.answer_time, c.end_time, "
    "c.duration, c.attempts, a.name, a.callback_url FROM calls c "
    "JOIN accounts a ON a.id = c.account_id WHERE c.voiceid = $1"
)


async def push_verified(store: Store, voiceid: str, now: float) -> bool:
    """Queue the report of a verified code whose call has ended; False when none is due."""
    number = int(voiceid)
    rows = await store.read(_CALL, number)
    if not rows or not rows[0][9] or str(rows[0][0]) not in FINAL_STATES:
        return False
    state, mobile, created, sip, answer, end, duration, attempts, name, url = rows[0]
    report = StatusReport(
        report_id=f"{voiceid}-verified",
        voiceid=voiceid,
        mobile=str(mobile),
        status=str(state),
        sip_code=int(sip),
        submit_time=int(created),
        ring_time=int(await last_ring_at(store, voiceid=number)),
        answer_time=int(answer),
        end_time=int(end),
        duration=int(duration),
        attempts=int(attempts),
        verify_status="verified",
        verify_time=int(now),
    )
    item = OutboxItem(report, str(name), str(url), now, next_at=now)

    async def work(tx: Tx) -> None:
        await insert_outbox_in(tx, item)

    await store.transact(work)
    return True
