"""Voice-notification templates: filed by a customer or an operator, approved or
rejected by an operator with a reason. Keyword-only functions over any :class:`Store`.

Reads that return an account's templates take the account id: the user center passes
the signed-in customer's own. An approval (or the removal of an approved template) bumps
``policy_version``, so every gateway process drops its cached templates.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceotp.store.base import Store
from voiceotp.store.rows import BUMP_POLICY, Row, Tx

__all__ = [
    "APPROVED",
    "PENDING",
    "REJECTED",
    "TEMPLATE_STATES",
    "NoticeTemplate",
    "approved_templates",
    "decide_template",
    "delete_template",
    "file_template",
    "get_template",
    "list_templates",
    "set_play_times",
]

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
TEMPLATE_STATES = (PENDING, APPROVED, REJECTED)
_COLUMNS = (
    "id, account_id, text, var_max, state, reason, submitted_by, submitted_at, decided_by, "
    "decided_at, play_times"
)


@dataclass(frozen=True, slots=True)
class NoticeTemplate:
    id: int
    account_id: int
    text: str
    var_max: int  # the default length limit of its variables
    state: str  # pending | approved | rejected
    reason: str  # why it was rejected (or a note on the approval)
    submitted_by: str  # "customer:<login>" or "operator:<login>" / "admin"
    submitted_at: float
    decided_by: str = ""
    decided_at: float = 0.0
    play_times: int = 1  # how many times its notices are said


def _template(row: Row) -> NoticeTemplate:
    i, account_id, text, var_max, state, reason, by, at, decided_by, decided_at = row[:10]
    return NoticeTemplate(
        int(i),
        int(account_id),
        str(text),
        int(var_max),
        str(state),
        str(reason),
        str(by),
        float(at),
        str(decided_by),
        float(decided_at),
        int(row[10]),
    )


async def file_template(
    store: Store, *, account_id: int, text: str, var_max: int, by: str, now: float
) -> NoticeTemplate:
    """A new pending template (the caller has checked its syntax)."""

    async def work(tx: Tx) -> int:
        row = await tx.fetchrow(
            "INSERT INTO notice_templates (account_id, text, var_max, state, reason, "
            "submitted_by, submitted_at, decided_by, decided_at) "
            "VALUES ($1, $2, $3, $4, '', $5, $6, '', 0) RETURNING id",
            account_id,
            text,
            var_max,
            PENDING,
            by,
            now,
        )
        assert row is not None
        return int(row[0])

    template = await get_template(store, template_id=await store.transact(work))
    assert template is not None
    return template


async def get_template(
    store: Store, *, template_id: int, account_id: int | None = None
) -> NoticeTemplate | None:
    """The template, or None (also when ``account_id`` is given and does not own it)."""
    sql = f"SELECT {_COLUMNS} FROM notice_templates WHERE id = $1"  # noqa: S608 - constant
    rows = await store.read(sql, template_id)
    if not rows or (account_id is not None and int(rows[0][1]) != account_id):
        return None
    return _template(rows[0])


async def list_templates(
    store: Store, *, account_id: int | None = None, state: str | None = None, limit: int = 200
) -> list[NoticeTemplate]:
    """Newest first; narrowed to one account and/or one state."""
    where, args = [], []
    for column, value in (("account_id", account_id), ("state", state)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    args.append(limit)
    sql = f"SELECT {_COLUMNS} FROM notice_templates{clause} ORDER BY id DESC LIMIT ${len(args)}"  # noqa: S608
    return [_template(r) for r in await store.read(sql, *args)]


async def approved_templates(store: Store, *, account_id: int) -> list[NoticeTemplate]:
    """The account's approved templates, oldest first (the order content is matched in)."""
    sql = (
        f"SELECT {_COLUMNS} FROM notice_templates "  # noqa: S608 - constant
        "WHERE account_id = $1 AND state = $2 ORDER BY id"
    )
    return [_template(r) for r in await store.read(sql, account_id, APPROVED)]


async def decide_template(
    store: Store, *, template_id: int, approve: bool, reason: str, by: str, now: float
) -> NoticeTemplate | None:
    """Approve or reject a pending template, once; None when it was not pending."""

    async def work(tx: Tx) -> bool:
        row = await tx.fetchrow(
            "UPDATE notice_templates SET state = $2, reason = $3, decided_by = $4, "
            "decided_at = $5 WHERE id = $1 AND state = $6 RETURNING id",
            template_id,
            APPROVED if approve else REJECTED,
            reason,
            by,
            now,
            PENDING,
        )
        if row is not None and approve:
            await tx.execute(BUMP_POLICY)
        return row is not None

    if not await store.transact(work):
        return None
    return await get_template(store, template_id=template_id)


async def delete_template(store: Store, *, template_id: int, account_id: int | None = None) -> bool:
    """Remove a template (of ``account_id`` when given); calls made from it keep its id."""

    async def work(tx: Tx) -> bool:
        if account_id is None:
            row = await tx.fetchrow(
                "DELETE FROM notice_templates WHERE id = $1 RETURNING state", template_id
            )
        else:
            row = await tx.fetchrow(
                "DELETE FROM notice_templates WHERE id = $1 AND account_id = $2 RETURNING state",
                template_id,
                account_id,
            )
        if row is not None and row[0] == APPROVED:
            await tx.execute(BUMP_POLICY)
        return row is not None

    return await store.transact(work)


async def set_play_times(store: Store, *, template_id: int, play_times: int) -> bool:
    """How many times the template's notices are said (the caller checks 1-3)."""

    async def work(tx: Tx) -> bool:
        row = await tx.fetchrow(
            "UPDATE notice_templates SET play_times = $2 WHERE id = $1 RETURNING id",
            template_id,
            play_times,
        )
        return row is not None

    return await store.transact(work)
