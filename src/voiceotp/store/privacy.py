"""Personal data of calls, as the store keeps it (docs/privacy.md): until when a call's code
may still be valid (its audio is not played before), and one account's numbers for a
data-subject request (export, erase)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from voiceotp.protocol import mask_mobile
from voiceotp.store.base import Store
from voiceotp.store.records import CallRecord
from voiceotp.store.rows import Row, Tx

__all__ = [
    "REPORTS_TO_MASK",
    "Erased",
    "NumberUse",
    "code_valid_until",
    "erase_numbers",
    "mask_calls_in",
    "mask_reports_in",
    "mask_signups_in",
    "masked_number",
    "numbers_of",
    "signups_of",
]


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


def masked_number(number: str) -> str:
    """``138****8000``; never without the four stars the sweeps look for (a short or empty
    value, which no call has, would be masked again and again)."""
    masked = mask_mobile(number)
    return masked if "****" in masked else "****"


async def mask_calls_in(tx: Tx, rows: Sequence[Row]) -> None:
    """Mask the numbers of calls ``rows`` (voiceid, mobile) in ``calls`` and
    ``verifications``."""
    for voiceid, number in rows:
        masked = masked_number(str(number))
        await tx.execute("UPDATE calls SET mobile = $2 WHERE voiceid = $1", voiceid, masked)
        await tx.execute("UPDATE verifications SET mobile = $2 WHERE voiceid = $1", voiceid, masked)


async def mask_signups_in(tx: Tx, rows: Sequence[Row]) -> None:
    """Mask the number and clear the IP of user-center sign-ups ``rows`` (id, mobile)."""
    for signup_id, number in rows:
        await tx.execute(
            "UPDATE signups SET mobile = $2, ip = '' WHERE id = $1",
            signup_id,
            masked_number(str(number)),
        )


async def mask_reports_in(tx: Tx, rows: Sequence[Row]) -> None:
    """Mask the number in status reports ``rows`` (report_id, report JSON)."""
    for report_id, text in rows:
        report = json.loads(str(text))
        report["mobile"] = masked_number(str(report.get("mobile", "")))
        await tx.execute(
            "UPDATE outbox SET report = $2 WHERE report_id = $1",
            report_id,
            json.dumps(report, ensure_ascii=False),
        )


# Reports already pushed or given up (a pending one goes out as it was written), whose
# number is not masked yet (no other field of a report has four stars).
REPORTS_TO_MASK = (
    "SELECT o.report_id, o.report FROM outbox o JOIN accounts a ON a.name = o.account "
    "WHERE a.id = $1 AND o.state <> 'pending' AND o.report NOT LIKE '%****%'"
)


@dataclass(frozen=True, slots=True)
class Erased:
    """What :func:`erase_numbers` masked."""

    voiceids: list[str]  # calls whose number was masked
    reports: int  # status reports whose number was masked
    live: int  # calls still queued or ringing: theirs is masked once they end
    signups: int = 0  # user-center sign-ups that made the account, masked


async def signups_of(store: Store, account_id: int, *, mobile: str = "") -> list[NumberUse]:
    """The user-center sign-ups that made the account (all, or ``mobile``'s), oldest first
    (``voiceid``: the sign-up's call)."""
    sql = "SELECT voiceid, mobile, state, created_at FROM signups WHERE account_id = $1"
    args: list[object] = [account_id]
    if mobile:
        sql += " AND mobile = $2"
        args.append(mobile)
    rows = await store.read(sql + " ORDER BY id", *args)
    return [NumberUse(str(v), str(m), str(s), float(t)) for v, m, s, t in rows]


async def erase_numbers(store: Store, account_id: int, *, mobile: str = "") -> Erased:
    """Mask the numbers of the account's ended calls (all, or those to ``mobile``) in
    ``calls``, ``verifications`` and its status reports. Calls still queued or ringing keep
    theirs (the dialer needs it); the retention sweep masks them later."""
    where = "account_id = $1" + (" AND mobile = $2" if mobile else "")
    args: list[object] = [account_id, *([mobile] if mobile else [])]

    async def work(tx: Tx) -> Erased:
        calls = await tx.fetch(
            f"SELECT voiceid, mobile FROM calls WHERE {where} "  # noqa: S608 - constant parts
            "AND state NOT IN ('queued', 'dialing') AND mobile NOT LIKE '%****%'",
            *args,
        )
        live = await tx.fetch(
            f"SELECT COUNT(*) FROM calls WHERE {where} "  # noqa: S608 - constant parts
            "AND state IN ('queued', 'dialing')",
            *args,
        )
        reports = [
            r
            for r in await tx.fetch(REPORTS_TO_MASK, account_id)
            if not mobile or json.loads(str(r[1])).get("mobile") == mobile
        ]
        signups = await tx.fetch(
            f"SELECT id, mobile FROM signups WHERE {where} "  # noqa: S608 - constant parts
            "AND mobile NOT LIKE '%****%'",
            *args,
        )
        await mask_calls_in(tx, calls)
        await mask_reports_in(tx, reports)
        await mask_signups_in(tx, signups)
        calls_masked = [str(v) for v, _ in calls]
        return Erased(calls_masked, len(reports), int(live[0][0]), len(signups))

    return await store.transact(work)
