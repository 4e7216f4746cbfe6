"""Sign-in, sign-out and the language switch of the console (web/session_pages.py)."""

from __future__ import annotations

from typing import Any

from voiceotp.store import web as db
from voiceotp.web.console.core import FACE, KIND
from voiceotp.web.face import Page
from voiceotp.web.session_pages import MESSAGES, SessionPages

__all__ = ["MESSAGES", "set_language", "sign_in_page", "sign_out"]


async def _nobody(page: Page) -> dict[str, Any]:
    """The sign-in page says how to create the first operator while there is none."""
    return {"nobody": not await db.list_web_users(page.store, kind=KIND)}


PAGES = SessionPages(FACE, extra=_nobody)
sign_in_page = PAGES.sign_in_page
sign_out = PAGES.sign_out
set_language = PAGES.set_language
