"""The customer's voice-notification templates (docs/notices.md): file one (pending until
an operator decides), see each one's state and the reason of a rejection. Only the
signed-in customer's own account is read or written (``page.user.account_id``)."""

from __future__ import annotations

from starlette.responses import Response

from voiceotp.errors import AdminError
from voiceotp.gateway.templates import describe_template
from voiceotp.protocol.notice import DEFAULT_VAR_MAX
from voiceotp.web.usercenter.core import OWNER, SELF, Page, redirect, view

__all__ = ["MESSAGES", "file_template", "templates_page"]

BAD_LIMIT = "The variable limit is a whole number from 1 to 180."
FILED = "Filed: an operator will review it."
# The template service's refusals (gateway/templates.py, protocol/notice.py), shown
# through t(): each has a Chinese entry (tests/web/test_i18n.py).
REFUSALS = (
    "template: two variables side by side cannot be told apart",
    "template: a variable name is used twice",
    "template: more than 20 variables",
    "template: the template has no fixed text",
    "the template contains a sensitive word",
)
MESSAGES = (BAD_LIMIT, FILED, *REFUSALS)


@view(SELF)
async def templates_page(page: Page) -> Response:
    flash = FILED if "done" in page.request.query_params else ""
    return await _render(page, flash=flash)


async def _render(
    page: Page, *, status: int = 200, error: str = "", flash: str = "", text: str = ""
) -> Response:
    assert page.user is not None
    templates = await page.gateway.templates.list(page.user.account_id)
    return page.render(
        "templates.html", status_code=status, section="templates", templates=templates,
        error=error, flash=flash, text=text, default_limit=DEFAULT_VAR_MAX,
    )  # fmt: skip


@view(OWNER)
async def file_template(page: Page) -> Response:
    assert page.user is not None
    assert page.user.account_id is not None
    text, limit = page.field("text"), page.field("var_max")
    if limit and not (limit.isascii() and limit.isdigit() and len(limit) <= 3):
        return await _render(page, status=400, error=BAD_LIMIT, text=text)
    try:
        filed = await page.gateway.templates.file(
            page.user.account_id,
            text,
            var_max=int(limit) if limit else None,
            by=f"customer:{page.user.login}",
        )
    except AdminError as exc:
        return await _render(page, status=400, error=str(exc), text=text)
    await page.audit("customer.template", f"template {filed.id}", "", describe_template(filed))
    return redirect("/templates?done=1")
