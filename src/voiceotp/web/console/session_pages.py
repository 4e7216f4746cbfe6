"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

import hmac
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response

from voiceotp.store import web as db
from voiceotp.web.auth import CSRF_FIELD, SignIn, is_https, request_ip, same_origin
from voiceotp.web.console.core import (
    BASE,
    KIND,
    SELF,
    Page,
    auth,
    redirect,
    safe_next,
    view,
)
from voiceotp.web.i18n import DEFAULT_LANGUAGE, LANGUAGES

PRE_COOKIE = "voiceotp_console_pre"  # double-submit CSRF token of the sign-in form

MESSAGES = {
    SignIn.BAD: "Wrong login or password.",
    SignIn.LOCKED: "Too many failed attempts. Try again later.",
    SignIn.NEED_TOTP: "Enter the one-time code from your authenticator app.",
}


async def sign_in_page(request: Request) -> Response:
    """GET: the form; POST: check the credentials, start a session."""
    page = Page(request, None, language=_language(request))
    if request.method == "GET":
        return await _form(page, message="", status=200)
    page.form = await request.form(max_files=0, max_fields=20)
    sent, kept = page.field(CSRF_FIELD), request.cookies.get(PRE_COOKIE, "")
    if not (same_origin(request) and kept and hmac.compare_digest(sent.encode(), kept.encode())):
        return await _form(page, message="Refused", status=403)
    outcome, user = await auth.sign_in(
        request, page.field("login"), page.field("password"), page.field("otp")
    )
    if outcome is not SignIn.OK or user is None:
        if outcome is SignIn.LOCKED:
            await _audit(request, page.field("login")[:64], "session.locked")
        status = 429 if outcome is SignIn.LOCKED else 401 if outcome is SignIn.BAD else 200
        return await _form(page, message=MESSAGES[outcome], status=status)
    response = redirect(safe_next(page.field("next", BASE + "/"))[len(BASE) :])
    await auth.start(request, response, user)
    await _audit(request, user.login, "session.sign_in")
    response.delete_cookie(PRE_COOKIE, path=BASE)
    return response


async def _audit(request: Request, login: str, action: str) -> None:
    await db.write_audit(
        Page(request, None).store, actor=login, actor_kind=KIND, action=action, target="",
        before="", after="", ip=request_ip(request), now=time.time(),
    )  # fmt: skip


async def _form(page: Page, *, message: str, status: int) -> Response:
    token = page.request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
    nobody = not await db.list_web_users(page.store, kind=KIND)
    response = page.render(
        "signin.html",
        status_code=status,
        message=message,
        pre_csrf=token,
        need_otp=message == MESSAGES[SignIn.NEED_TOTP],
        login=page.field("login"),
        next=safe_next(page.request.query_params.get("next") or page.field("next", BASE + "/")),
        nobody=nobody,
        expired="expired" in page.request.query_params,
    )
    response.set_cookie(
        PRE_COOKIE,
        token,
        path=BASE,
        httponly=True,
        samesite="strict",
        secure=is_https(page.request),
    )
    return response


def _language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get("voiceotp_lang", "")
    return wanted if wanted in LANGUAGES else DEFAULT_LANGUAGE


@view(SELF)
async def sign_out(page: Page) -> Response:
    """End this session (revoked in the store: the cookie opens nothing any more)."""
    response = redirect("/signin")
    await auth.end(page.request, response)
    return response


@view(SELF)
async def set_language(page: Page) -> Response:
    """The signed-in user's language, kept with the user."""
    assert page.user is not None
    language = page.field("language")
    if language in LANGUAGES and language != page.user.language:
        await db.update_web_user(page.store, user_id=page.user.id, language=language)
    response = redirect(safe_next(page.field("next"))[len(BASE) :] or "/")
    response.set_cookie("voiceotp_lang", language, path=BASE, samesite="strict", httponly=True)
    return response
