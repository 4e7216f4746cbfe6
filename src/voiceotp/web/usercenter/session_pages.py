"""Sign-in, sign-out and the language switch of the user center (web/session_pages.py)."""

from __future__ import annotations

from voiceotp.web.session_pages import SessionPages
from voiceotp.web.usercenter.core import FACE

__all__ = ["PAGES", "set_language", "sign_in_page", "sign_out"]

PAGES = SessionPages(FACE)
sign_in_page = PAGES.sign_in_page
sign_out = PAGES.sign_out
set_language = PAGES.set_language
