"""Operator and customer actions on voice-notification templates — one service behind
the admin API, ``voiceotp admin template …``, the console and the user center.

Every value is checked here (AdminError says what is wrong) before the store sees it:
the text must parse (protocol/notice.py) and hold no server-wide sensitive word.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from voiceotp.gateway.admincheck import AdminError, NotFound, check_text
from voiceotp.protocol.notice import (
    DEFAULT_VAR_MAX,
    MAX_CONTENT,
    MAX_TEMPLATE,
    TemplateSyntaxError,
    parse_template,
)
from voiceotp.store import Store
from voiceotp.store import notify as db
from voiceotp.store.files import delete_upload
from voiceotp.store.notify import NoticeTemplate
from voiceotp.store.recordings import delete_recordings

__all__ = ["MAX_TEMPLATE_REASON", "Templates", "describe_template"]

MAX_TEMPLATE_REASON = 200


class Templates:
    """File, list, approve/reject and delete templates; ``on_change`` reloads this
    process's caches at once (others follow the policy version)."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        on_change: Callable[[], Awaitable[None]] | None = None,
        data_dir: Path | None = None,
    ) -> None:
        """``data_dir``: where the templates' recordings are (template_audio.py)."""
        self._store = store
        self._clock = clock
        self._on_change = on_change
        self._data_dir = data_dir

    async def file(
        self, account_id: int, text: Any, *, var_max: Any = None, by: str
    ) -> NoticeTemplate:
        """A new pending template of the account (its syntax and words checked)."""
        text = check_text("text", text, MAX_TEMPLATE).strip()
        limit = DEFAULT_VAR_MAX if var_max is None else var_max
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CONTENT:
            raise AdminError(f"var_max must be an integer between 1 and {MAX_CONTENT}")
        try:
            parse_template(text, var_max=limit)
        except TemplateSyntaxError as exc:
            raise AdminError(f"template: {exc}") from exc
        words = (await self._store.policy_entries())["sensitive_word"]
        if any(word and word in text for word in words):
            raise AdminError("the template contains a sensitive word")
        return await db.file_template(
            self._store,
            account_id=account_id,
            text=text,
            var_max=limit,
            by=by,
            now=self._clock(),
        )

    async def list(
        self, account_id: int | None = None, state: str | None = None
    ) -> list[NoticeTemplate]:
        if state is not None and state not in db.TEMPLATE_STATES:
            raise AdminError(f"state must be one of {', '.join(db.TEMPLATE_STATES)}")
        return await db.list_templates(self._store, account_id=account_id, state=state)

    async def get(self, template_id: Any, account_id: int | None = None) -> NoticeTemplate:
        found = await db.get_template(
            self._store, template_id=_id(template_id), account_id=account_id
        )
        if found is None:
            raise NotFound(f"unknown template {template_id}")
        return found

    async def decide(
        self, template_id: Any, *, approve: bool, reason: Any = "", by: str
    ) -> NoticeTemplate:
        """Approve or reject a pending template (a rejection needs a reason)."""
        reason = check_text("reason", reason or "", MAX_TEMPLATE_REASON).strip()
        if not approve and not reason:
            raise AdminError("a rejection needs a reason")
        template = await self.get(template_id)
        decided = await db.decide_template(
            self._store,
            template_id=template.id,
            approve=approve,
            reason=reason,
            by=by,
            now=self._clock(),
        )
        if decided is None:
            raise AdminError(f"template {template.id} is {template.state}, not pending")
        await self._store.record_audit(
            account_id=template.account_id,
            kind="template_approved" if approve else "template_rejected",
            detail=f"template {template.id} by {by}" + (f": {reason}" if reason else ""),
            now=self._clock(),
        )
        await self._changed()
        return decided

    async def delete(self, template_id: Any, account_id: int | None = None) -> None:
        template = await self.get(template_id, account_id)
        refs = await delete_recordings(self._store, template_id=template.id)
        await db.delete_template(self._store, template_id=template.id, account_id=account_id)
        if self._data_dir is not None:
            for ref in refs:
                await asyncio.to_thread(delete_upload, self._data_dir, ref)
        await self._changed()

    async def _changed(self) -> None:
        if self._on_change is not None:
            await self._on_change()


def _id(value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return value
    raise NotFound(f"unknown template {value}")


def describe_template(t: NoticeTemplate, account: str | None = None) -> dict[str, Any]:
    """A template as JSON-ready data."""
    data: dict[str, Any] = {
        "id": t.id,
        "text": t.text,
        "var_max": t.var_max,
        "state": t.state,
        "reason": t.reason,
        "submitted_by": t.submitted_by,
        "submitted_at": t.submitted_at,
        "decided_by": t.decided_by,
        "decided_at": t.decided_at,
        "play_times": t.play_times,
    }
    if account is not None:
        data["account"] = account
    return data
