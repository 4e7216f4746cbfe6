"""The signed-in customer's own page: a new password (the current one first, throttled
like sign-in); every session of the user ends, this one too."""

from __future__ import annotations

import asyncio

from starlette.responses import Response

from voiceotp.errors import WebInputError
from voiceotp.store import web as db
from voiceotp.web.passwords import check_new_password, hash_password
from voiceotp.web.usercenter.core import FACE, SELF, Page, redirect, view

__all__ = ["MESSAGES", "change_password", "me_page"]

BAD_REAUTH = "Wrong password."
MISMATCH = "The two passwords differ."
MESSAGES = (BAD_REAUTH, MISMATCH)


@view(SELF)
async def me_page(page: Page) -> Response:
    return _render(page)


def _render(page: Page, *, error: str = "", status: int = 200) -> Response:
    return page.render("me.html", status_code=status, section="me", error=error)


@view(SELF)
async def change_password(page: Page) -> Response:
    assert page.user is not None
    if not await FACE.auth.reauth(page.request, page.user, page.field("current_password")):
        return _render(page, error=BAD_REAUTH, status=403)
    new = page.field("new_password")
    if new != page.field("new_password2"):
        return _render(page, error=MISMATCH, status=400)
    try:
        encoded = await asyncio.to_thread(hash_password, check_new_password(new))
    except WebInputError as exc:
        return _render(page, error=str(exc), status=400)
    await db.update_web_user(page.store, user_id=page.user.id, password_hash=encoded)
    await db.revoke_session(page.store, user_id=page.user.id)
    await page.audit("customer.password", page.user.login)
    response = redirect("/signin")
    response.delete_cookie(FACE.auth.policy.cookie, path=FACE.auth.policy.path)
    return response
