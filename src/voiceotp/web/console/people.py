"""Operators (admin: who may sign in, end their sessions) and the signed-in operator's own
page (password, TOTP second factor)."""

from __future__ import annotations

import asyncio
import re

import pyotp
from starlette.responses import Response

from voiceotp.errors import WebInputError
from voiceotp.store import web as db
from voiceotp.web.console.core import (
    ADMIN,
    KIND,
    SELF,
    SUPPORT,
    Page,
    auth,
    redirect,
    refusal,
    view,
)
from voiceotp.web.passwords import hash_password

_BASE32_SECRET = re.compile(r"[A-Z2-7]{32}")  # what pyotp.random_base32() makes (me page)

__all__ = ["change_password", "me_page", "operators_page", "set_totp", "sign_out_operator"]


@view(ADMIN)
async def operators_page(page: Page) -> Response:
    users = await db.list_web_users(page.store, kind=KIND)
    return page.render(
        "operators.html", section="operators", users=users,
        flash="done" in page.request.query_params,
    )  # fmt: skip


@view(ADMIN)
async def sign_out_operator(page: Page) -> Response:
    """End every session of an operator (their next request signs in again)."""
    login = page.request.path_params["login"]
    user = await db.get_web_user(page.store, kind=KIND, login=login)
    if user is None:
        return refusal(page, 404, "Not found", "Not found")
    await db.revoke_session(page.store, user_id=user.id)
    await page.audit("operator.sign_out", login)
    return redirect("/operators?done=1")


@view(SUPPORT)
async def me_page(page: Page) -> Response:
    """The signed-in operator's password and second factor."""
    return await _render_me(page)


async def _render_me(page: Page, *, error: str = "", status: int = 200) -> Response:
    assert page.user is not None
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=page.user.login, issuer_name="voiceotp console")
    return page.render(
        "me.html", status_code=status, section="me", secret=secret, uri=uri, error=error,
        flash="done" in page.request.query_params,
    )  # fmt: skip


async def _password_ok(page: Page) -> bool:
    assert page.user is not None
    return await auth.reauth(page.request, page.user, page.field("current_password"))


@view(SELF)
async def change_password(page: Page) -> Response:
    """A new password (the current one first); every session of the user ends."""
    assert page.user is not None
    if not await _password_ok(page):
        return await _me_error(page, "Wrong password.", 403)
    try:
        encoded = await asyncio.to_thread(hash_password, page.field("new_password"))
    except WebInputError as exc:
        return await _me_error(page, str(exc), 400)
    await db.update_web_user(page.store, user_id=page.user.id, password_hash=encoded)
    await db.revoke_session(page.store, user_id=page.user.id)
    await page.audit("operator.password", page.user.login)
    response = redirect("/signin")
    response.delete_cookie(auth.policy.cookie, path=auth.policy.path)
    return response


@view(SELF)
async def set_totp(page: Page) -> Response:
    """Turn the second factor on (a code from the app proves the secret) or off."""
    assert page.user is not None
    if not await _password_ok(page):
        return await _me_error(page, "Wrong password.", 403)
    if page.field("op") == "disable":
        await db.update_web_user(page.store, user_id=page.user.id, totp_secret=None)
        await page.audit("operator.totp", page.user.login, "on", "off")
        return redirect("/me?done=1")
    secret = page.field("secret")
    if not _BASE32_SECRET.fullmatch(secret) or not pyotp.TOTP(secret).verify(
        page.field("otp"), valid_window=1
    ):
        return await _me_error(page, "Wrong one-time code.", 400)
    sealed = page.gateway.keybox.seal(secret)
    await db.update_web_user(page.store, user_id=page.user.id, totp_secret=sealed)
    await page.audit("operator.totp", page.user.login, "off", "on")
    return redirect("/me?done=1")


async def _me_error(page: Page, error: str, status: int) -> Response:
    return await _render_me(page, error=error, status=status)
