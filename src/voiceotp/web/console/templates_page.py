"""Voice-notification templates (docs/notices.md): what waits for a decision first, then
the rest; admins approve or reject (with a reason) through the one Templates service.
Every decision is in the web audit log."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from voiceotp.errors import AdminError
from voiceotp.gateway.templates import describe_template
from voiceotp.store.notify import PENDING
from voiceotp.web.console.core import ADMIN, SUPPORT, Page, redirect, view

__all__ = ["MESSAGES", "decide_template", "templates_page"]

REASON_NEEDED = "A rejection needs a reason."
MESSAGES = (REASON_NEEDED,)


@view(SUPPORT)
async def templates_page(page: Page) -> Response:
    return await _render(page, flash="done" in page.request.query_params)


async def _render(
    page: Page, *, status: int = 200, error: str = "", flash: bool = False
) -> Response:
    templates = await page.gateway.templates.list()
    names = {a.id: a.name for a in await page.store.list_accounts()}
    pending = [t for t in templates if t.state == PENDING]
    decided = [t for t in templates if t.state != PENDING]
    return page.render(
        "templates.html", status_code=status, section="templates", pending=pending,
        decided=decided[:100], names=names, error=error, flash=flash,
    )  # fmt: skip


@view(ADMIN)
async def decide_template(page: Page) -> Response:
    approve = page.field("op") == "approve"
    reason = page.field("reason").strip()
    if not approve and not reason:
        return await _render(page, status=400, error=REASON_NEEDED)
    assert page.user is not None
    try:
        template = await page.gateway.templates.get(page.request.path_params["id"])
        before: dict[str, Any] = describe_template(template)
        decided = await page.gateway.templates.decide(
            template.id, approve=approve, reason=reason, by=f"operator:{page.user.login}"
        )
    except AdminError as exc:
        return await _render(page, status=400, error=str(exc))
    action = "templates.approve" if approve else "templates.reject"
    await page.audit(action, f"template {decided.id}", before, describe_template(decided))
    return redirect("/templates?done=1")
