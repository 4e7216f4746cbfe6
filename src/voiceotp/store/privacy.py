"""Personal data of calls, as the store keeps it (docs/privacy.md): until when a call's code
may still be valid (its audio is not played before), and one account's numbers for a
data-subject request (export, erase)."""

from __future__ import annotations

from dataclasses import dataclass

from voiceotp.protocol import mask_mobile
from voiceotp.store.base import Store
from voiceotp.store.records import CallRecord
from voiceotp.store.rows import Tx

__all__ = ["NumberUse", "code_valid_until", "erase_numbers", "numbers_of"]


async def code_valid_until(store: Store, call: CallRecord, *, submit_window_s: float) -> float:
    """Until when the code the call spoke may still be accepted somewhere: a Verify code's
    expiry while it is pending (0.0 once verified, used up or superseded: it is no code any
    more); for a Submit's call, whose code only the customer checks, ``created_at +
    submit_window_s``."""
    rows = await store.read(
        "SELECT state, expires_at FROM verifications WHERE voiceid = $1", int(call.voiceid)
    )
    if not rows:
        return call.created_at + submit_window_s
    state, expires_at = rows[0]
    return float(expires_at) if state == "pending" else 0.0


@dataclass(frozen=True, slots=True)
class NumberUse:
    """One call of an account as a data-subject export lists it."""

    voiceid: str
    mobile: str
    state: str
    created_at: float


async def numbers_of(store: Store, account_id: int, *, mobile: str = "") -> list[NumberUse]:
    """The account's calls (all, or those to ``mobile``), oldest first."""
    sql = "SELECT voiceid, mobile, state, created_at FROM calls WHERE account_id = $1"
    args: list[object] = [account_id]
    if mobile:
        sql += " AND mobile = $2"
        args.append(mobile)
    rows = await store.read(sql + " ORDER BY voiceid", *args)
    return [NumberUse(str(v), str(m), str(s), float(t)) for v, m, s, t in rows]


async def erase_numbers(store: Store, account_id: int, *, mobile: str = "") -> list[str]:
    """Mask the numbers of the account's ended calls (all, or those to ``mobile``) in
    ``calls``, ``verifications`` and its status reports; the voiceids masked. Calls still
    queued or ringing keep theirs until they end (the dialer needs it)."""
    sql = (
        "SELECT voiceid, mobile FROM calls WHERE account_id = $1 "
        "AND state NOT IN ('queued', 'dialing') AND mobile NOT LIKE '%*%'"
    )
    args: list[object] = [account_id]
    if mobile:
        sql += " AND mobile = $2"
        args.append(mobile)

    async def work(tx: Tx) -> list[str]:
        rows = await tx.fetch(sql, *args)
        for voiceid, number in rows:
            masked = mask_mobile(str(number))
            await tx.execute("UPDATE calls SET mobile = $2 WHERE voiceid = $1", voiceid, masked)
            await tx.execute(
                "UPDATE verifications SET mobile = $2 WHERE voiceid = $1", voiceid, masked
            )
        return [str(v) for v, _ in rows]

    return await store.transact(work)
