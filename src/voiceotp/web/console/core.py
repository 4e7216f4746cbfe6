"""What every console page shares: the guard (session, role, CSRF), the page context,
rendering, and the audit trail of changes."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from voiceotp.gateway.admin import Admin
from voiceotp.gateway.submit.service import Gateway
from voiceotp.store import Store
from voiceotp.store import web as db
from voiceotp.store.web import WebSession, WebUser
from voiceotp.web.auth import CSRF_FIELD, AuthPolicy, WebAuth, csrf_ok, request_ip
from voiceotp.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator
from voiceotp.web.templating import make_templates

__all__ = ["ADMIN", "BASE", "SELF", "SUPPORT", "Page", "auth", "templates", "view"]

BASE = "/console"
KIND = "operator"
ADMIN, SUPPORT = "admin", "support"
SELF = "self"  # any signed-in user, about their own session (sign-out, language)
ROLES = (ADMIN, SUPPORT)
SAFE_METHODS = frozenset({"GET", "HEAD"})
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}

templates = make_templates(Path(__file__).parent / "templates")
auth = WebAuth(AuthPolicy(kind=KIND, cookie="voiceotp_console", path=BASE))


@dataclass
class Page:
    """One request of a signed-in operator."""

    request: Request
    session: WebSession | None
    form: FormData | None = None
    language: str = DEFAULT_LANGUAGE
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> WebUser | None:
        return self.session.user if self.session else None

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.request.app.state.gateway
        return gateway

    @property
    def store(self) -> Store:
        return self.gateway.store

    @property
    def admin(self) -> Admin:
        return self.gateway.admin

    @property
    def t(self) -> Callable[[str], str]:
        return translator(self.language)

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        context = {
            "request": self.request,
            "t": self.t,
            "lang": self.language,
            "languages": LANGUAGES,
            "user": self.user,
            "csrf": self.session.csrf if self.session else "",
            "base": BASE,
            "section": "",
            **context,
        }
        response = templates.TemplateResponse(
            self.request, template, context, status_code=status_code
        )
        response.headers.update(SECURITY_HEADERS)
        return response

    async def audit(self, action: str, target: str, before: Any = "", after: Any = "") -> None:
        """Who (this operator) changed what, from where: one row of the web audit log."""
        assert self.user is not None
        await db.write_audit(
            self.store,
            actor=self.user.login,
            actor_kind=self.user.kind,
            action=action,
            target=target,
            before=_as_text(before),
            after=_as_text(after),
            ip=request_ip(self.request),
            now=time.time(),
        )


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


Endpoint = Callable[[Page], Awaitable[Response]]


def view(role: str) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Guard a page: a live session, the role, and on unsafe methods the CSRF token.

    ``role`` is ADMIN (changes), SUPPORT (reading: support and admin) or SELF.
    """

    def decorate(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            session = await auth.current(request)
            if session is None:
                return _to_sign_in(request)
            page = Page(request, session, language=_language(session.user))
            if request.method not in SAFE_METHODS:
                page.form = await request.form(max_files=0, max_fields=200)
                token = page.form.get(CSRF_FIELD)
                if not csrf_ok(request, session, token if isinstance(token, str) else None):
                    return refusal(page, 403, "Refused", _CSRF_MESSAGE)
            if role == ADMIN and session.user.role != ADMIN:
                return refusal(page, 403, "Forbidden", "Your role cannot do this.")
            return await endpoint(page)

        guarded.__name__ = endpoint.__name__
        guarded.__doc__ = endpoint.__doc__
        guarded.role = role  # type: ignore[attr-defined]  # read by the access-control test
        return guarded

    return decorate


_CSRF_MESSAGE = (
    "The request was refused (missing or wrong security token). Reload the page and try again."
)


def refusal(page: Page, status: int, title: str, message: str) -> Response:
    return page.render("refusal.html", status_code=status, title=title, message=message)


def _language(user: WebUser) -> str:
    return user.language if user.language in LANGUAGES else DEFAULT_LANGUAGE


def _to_sign_in(request: Request) -> Response:
    if request.method in SAFE_METHODS and not request.headers.get("hx-request"):
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"{BASE}/signin?next={target}", status_code=303)
    response = HTMLResponse("signed out\n", status_code=401)
    response.headers["hx-redirect"] = f"{BASE}/signin"
    return response


def redirect(path: str) -> Response:
    """After a change: back to a console page (POST-redirect-GET)."""
    return RedirectResponse(f"{BASE}{path}", status_code=303)


def safe_next(value: str) -> str:
    """A ``next`` target inside the console only (no open redirect)."""
    if value.startswith(BASE + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return BASE + "/"
