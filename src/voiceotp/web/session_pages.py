"""Sign-in, sign-out and the language switch of a face (the console's and the user
center's are the same pages over their own user kind)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from voiceotp.store import web as db
from voiceotp.web.auth import CSRF_FIELD, SignIn, is_https, same_origin
from voiceotp.web.face import SELF, Face, Page, read_form
from voiceotp.web.i18n import LANGUAGES

__all__ = ["MESSAGES", "SessionPages"]

MESSAGES = {
    SignIn.BAD: "Wrong login or password.",
    SignIn.LOCKED: "Too many failed attempts. Try again later.",
    SignIn.NEED_TOTP: "Enter the one-time code from your authenticator app.",
}
Extra = Callable[[Page], Awaitable[dict[str, Any]]]


class SessionPages:
    """The three endpoints for one face. ``extra`` adds to the sign-in form's context."""

    def __init__(self, face: Face, *, extra: Extra | None = None) -> None:
        self.face = face
        self.pre_cookie = f"{face.auth.policy.cookie}_pre"  # double-submit token of the form
        self._extra = extra
        self.sign_out = face.view(SELF)(self._sign_out)
        self.set_language = face.view(SELF)(self._set_language)

    async def sign_in_page(self, request: Request) -> Response:
        """GET: the form; POST: check the credentials, start a session."""
        face = self.face
        page = face.page(request)
        if request.method == "GET":
            return await self.form(page, message="", status=200)
        unread = await read_form(page, max_files=0, max_fields=20)
        if unread is not None:
            return unread
        if not self.pre_token_ok(page):
            return await self.form(page, message="Refused", status=403)
        outcome, user = await face.auth.sign_in(
            request, page.field("login"), page.field("password"), page.field("otp")
        )
        if outcome is not SignIn.OK or user is None:
            if outcome is SignIn.LOCKED:
                await page.audit("session.locked", "", actor=page.field("login")[:64])
            status = 429 if outcome is SignIn.LOCKED else 401 if outcome is SignIn.BAD else 200
            return await self.form(page, message=MESSAGES[outcome], status=status)
        target = face.safe_next(page.field("next", face.base + "/"))
        response = face.redirect(target[len(face.base) :])
        await face.auth.start(request, response, user)
        await page.audit("session.sign_in", "", actor=user.login)
        response.delete_cookie(self.pre_cookie, path=face.base)
        return response

    def pre_token_ok(self, page: Page) -> bool:
        """A public form's double-submit token (cookie and field agree, same site)."""
        sent, kept = page.field(CSRF_FIELD), page.request.cookies.get(self.pre_cookie, "")
        return (
            same_origin(page.request)
            and bool(kept)
            and hmac.compare_digest(sent.encode(), kept.encode())
        )

    def public(self, page: Page, template: str, status: int = 200, **context: Any) -> Response:
        """A public page with a form: rendered with the double-submit token."""
        token = page.request.cookies.get(self.pre_cookie) or secrets.token_urlsafe(32)
        response = page.render(template, status_code=status, pre_csrf=token, **context)
        response.set_cookie(
            self.pre_cookie,
            token,
            path=self.face.base,
            httponly=True,
            samesite="strict",
            secure=is_https(page.request),
        )
        return response

    async def form(self, page: Page, *, message: str, status: int) -> Response:
        face, request = self.face, page.request
        extra = await self._extra(page) if self._extra is not None else {}
        return self.public(
            page,
            "signin.html",
            status,
            message=message,
            need_otp=message == MESSAGES[SignIn.NEED_TOTP],
            login=page.field("login"),
            next=face.safe_next(
                request.query_params.get("next") or page.field("next", face.base + "/")
            ),
            expired="expired" in request.query_params,
            **extra,
        )

    async def _sign_out(self, page: Page) -> Response:
        """End this session (revoked in the store: the cookie opens nothing any more)."""
        response = self.face.redirect("/signin")
        await self.face.auth.end(page.request, response)
        return response

    async def _set_language(self, page: Page) -> Response:
        """The signed-in user's language, kept with the user."""
        assert page.user is not None
        face, language = self.face, page.field("language")
        if language in LANGUAGES and language != page.user.language:
            await db.update_web_user(page.store, user_id=page.user.id, language=language)
        response = face.redirect(face.safe_next(page.field("next"))[len(face.base) :] or "/")
        if language in LANGUAGES:  # never a cookie of what the form said (a 500 off latin-1)
            response.set_cookie(
                "voiceotp_lang", language, path=face.base, samesite="strict", httponly=True
            )
        return response
