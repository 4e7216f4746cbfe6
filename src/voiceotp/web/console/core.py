"""The console's face (web/face.py): mount, user kind, roles; the names every console
page imports."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response

from voiceotp.web.face import CSRF_MESSAGE, SECURITY_HEADERS, SELF, Face, Page

__all__ = [
    "ADMIN",
    "BASE",
    "FACE",
    "KIND",
    "SECURITY_HEADERS",
    "SELF",
    "SUPPORT",
    "Page",
    "auth",
    "redirect",
    "refusal",
    "safe_next",
    "view",
]

BASE = "/console"
KIND = "operator"
ADMIN, SUPPORT = "admin", "support"
ROLES = (SUPPORT, ADMIN)  # weakest first: a support page admits admins
_CSRF_MESSAGE = CSRF_MESSAGE

FACE = Face(
    base=BASE,
    kind=KIND,
    title="voiceotp console",
    cookie="voiceotp_console",
    template_dir=Path(__file__).parent / "templates",
    roles=ROLES,
)
auth = FACE.auth
view = FACE.view
redirect = FACE.redirect
safe_next = FACE.safe_next


def refusal(page: Page, status: int, title: str, message: str) -> Response:
    return page.refusal(status, title, message)
