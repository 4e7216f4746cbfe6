"""One browser face (the operator console, the customer user center): where it is
mounted, which kind of user signs in to it, its templates, and what every page shares —
the guard (session, role, CSRF), the page context, rendering and the audit trail.
"""

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
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Message, Receive

from voiceotp.errors import BodyTooLarge
from voiceotp.gateway.admin import Admin
from voiceotp.gateway.submit.service import Gateway
from voiceotp.store import Store
from voiceotp.store import web as db
from voiceotp.store.web import WebSession, WebUser
from voiceotp.web.auth import CSRF_FIELD, AuthPolicy, WebAuth, csrf_ok, request_ip
from voiceotp.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator
from voiceotp.web.templating import STATIC_DIR, make_templates

__all__ = ["SAFE_METHODS", "SECURITY_HEADERS", "SELF", "UPLOAD_TOO_LARGE", "Face", "Page"]

SELF = "self"  # any signed-in user of the face, about their own session or data
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
CSRF_MESSAGE = (
    "The request was refused (missing or wrong security token). Reload the page and try again."
)
UPLOAD_TOO_LARGE = "The file is too large. Go back and choose a smaller one."


class Face:
    """A face mounted at ``base`` for users of ``kind``.

    ``roles`` ranks the kind's roles, weakest first: a page guarded with a role admits
    that role and every stronger one (``SELF``: any signed-in user).
    """

    def __init__(
        self,
        *,
        base: str,
        kind: str,
        title: str,
        cookie: str,
        template_dir: Path,
        roles: tuple[str, ...],
    ) -> None:
        self.base, self.kind, self.title, self.roles = base, kind, title, roles
        self.auth = WebAuth(AuthPolicy(kind=kind, cookie=cookie, path=base))
        self.templates: Jinja2Templates = make_templates(template_dir)

    def page(self, request: Request, session: WebSession | None = None) -> Page:
        language = language_of(session.user) if session else cookie_language(request)
        return Page(self, request, session, language=language)

    def admits(self, user: WebUser, role: str) -> bool:
        if role == SELF:
            return True
        if user.role not in self.roles or role not in self.roles:
            return False
        return self.roles.index(user.role) >= self.roles.index(role)

    def view(self, role: str) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
        """Guard a page: a live session of this face's kind, the role, and on unsafe
        methods the CSRF token (and no file parts: uploads use :meth:`upload_view`)."""
        return self._guard(role, max_files=0)

    def upload_view(
        self, role: str, max_files: int = 1, max_body: Callable[[Request], int] | None = None
    ) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
        """:meth:`view` for a multipart form with files. ``max_body(request)``: the most
        bytes the body may have; a larger one is refused (413) as soon as its
        Content-Length says so, or as soon as that many bytes have come in."""
        return self._guard(role, max_files=max_files, max_body=max_body)

    def _guard(
        self, role: str, *, max_files: int, max_body: Callable[[Request], int] | None = None
    ) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
        def decorate(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
            async def guarded(request: Request) -> Response:
                session = await self.auth.current(request)
                if session is None:
                    return self.to_sign_in(request)
                page = self.page(request, session)
                if request.method in SAFE_METHODS:
                    return await self._admitted(page, role, endpoint)
                if max_body is None:
                    page.form = await request.form(max_files=max_files, max_fields=200)
                    return await self._checked(page, role, endpoint)
                limit = max_body(request)
                if _declared_length(request) > limit:
                    return page.refusal(413, "Too large", UPLOAD_TOO_LARGE)
                body = Request(request.scope, _bounded(request.receive, limit))
                try:
                    async with body.form(max_files=max_files, max_fields=200) as form:
                        page.form = form  # its files are closed when the page is done
                        return await self._checked(page, role, endpoint)
                except BodyTooLarge:
                    return page.refusal(413, "Too large", UPLOAD_TOO_LARGE)

            guarded.__name__ = endpoint.__name__
            guarded.__doc__ = endpoint.__doc__
            guarded.role = role  # type: ignore[attr-defined]  # read by the access-control tests
            return guarded

        return decorate

    async def _checked(self, page: Page, role: str, endpoint: Endpoint) -> Response:
        """The CSRF token of an unsafe request's form, then the role."""
        assert page.form is not None
        assert page.session is not None
        token = page.form.get(CSRF_FIELD)
        if not csrf_ok(page.request, page.session, token if isinstance(token, str) else None):
            return page.refusal(403, "Refused", CSRF_MESSAGE)
        return await self._admitted(page, role, endpoint)

    async def _admitted(self, page: Page, role: str, endpoint: Endpoint) -> Response:
        assert page.user is not None
        if not self.admits(page.user, role):
            return page.refusal(403, "Forbidden", "Your role cannot do this.")
        return await endpoint(page)

    def to_sign_in(self, request: Request) -> Response:
        if request.method in SAFE_METHODS and not request.headers.get("hx-request"):
            target = quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            return RedirectResponse(f"{self.base}/signin?next={target}", status_code=303)
        response = HTMLResponse("signed out\n", status_code=401)
        response.headers["hx-redirect"] = f"{self.base}/signin"
        return response

    def mount(self, pages: list[Route], name: str) -> list[BaseRoute]:
        """The face's routes: ``base`` redirects to ``base/``, under which are the static
        files and ``pages``."""
        target = self.base + "/"

        async def to_the_face(request: Request) -> Response:
            # A relative Location: Starlette's own would be built from the Host header.
            return RedirectResponse(target, status_code=308)

        static = Mount("/static", StaticFiles(directory=STATIC_DIR), name=f"{name}-static")
        return [
            Route(self.base, to_the_face, methods=["GET", "HEAD"]),
            Mount(self.base, routes=[static, *pages], name=name),
        ]

    def redirect(self, path: str) -> Response:
        """After a change: back to a page of this face (POST-redirect-GET)."""
        return RedirectResponse(f"{self.base}{path}", status_code=303)

    def safe_next(self, value: str) -> str:
        """A ``next`` target inside this face only (no open redirect)."""
        if value.startswith(self.base + "/") and not value.startswith("//") and "\\" not in value:
            return value
        return self.base + "/"


@dataclass
class Page:
    """One request to a face (of a signed-in user, or anonymous on public pages)."""

    face: Face
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
            "base": self.face.base,
            "brand": self.face.title,
            "section": "",
            **context,
        }
        response = self.face.templates.TemplateResponse(
            self.request, template, context, status_code=status_code
        )
        response.headers.update(SECURITY_HEADERS)
        return response

    def refusal(self, status: int, title: str, message: str) -> Response:
        return self.render("refusal.html", status_code=status, title=title, message=message)

    async def audit(
        self, action: str, target: str, before: Any = "", after: Any = "", *, actor: str = ""
    ) -> None:
        """Who (this user, or ``actor`` on a public page) changed what, from where."""
        login = actor or (self.user.login if self.user else "")
        await db.write_audit(
            self.store,
            actor=login,
            actor_kind=self.face.kind,
            action=action,
            target=target,
            before=_as_text(before),
            after=_as_text(after),
            ip=request_ip(self.request),
            now=time.time(),
        )


Endpoint = Callable[[Page], Awaitable[Response]]


def _declared_length(request: Request) -> int:
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:
        return 0


def _bounded(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises BodyTooLarge once more than ``limit`` body bytes came in
    (the multipart parser spools files to disk without a bound of its own)."""
    seen = 0

    async def bounded() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return bounded


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def language_of(user: WebUser) -> str:
    return user.language if user.language in LANGUAGES else DEFAULT_LANGUAGE


def cookie_language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get("voiceotp_lang", "")
    return wanted if wanted in LANGUAGES else DEFAULT_LANGUAGE
