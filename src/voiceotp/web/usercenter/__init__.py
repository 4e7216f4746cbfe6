"""The customer user center (用户中心) at ``/user/`` (served by ``voiceotp serve``;
``--no-user-center`` turns it off). ``user_center_routes()`` is what the CLI hands to
``create_app``. docs/user-center.md.

Customers are web users of kind ``customer``, each tied to one account; every page but
sign-in, sign-up and the static files is behind a customer session, and every POST needs
the CSRF token.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from voiceotp.web.usercenter import (
    account_settings,
    certification,
    me,
    overview,
    records,
    signup,
)
from voiceotp.web.usercenter.core import BASE, FACE
from voiceotp.web.usercenter.session_pages import set_language, sign_in_page, sign_out

__all__ = ["BASE", "PUBLIC", "page_routes", "user_center_routes"]

PUBLIC = frozenset({"/signin", "/signup", "/signup/confirm"})  # no session needed


def page_routes() -> list[Route]:
    """Every user-center page (paths relative to ``BASE``)."""
    get, post, both = ["GET"], ["POST"], ["GET", "POST"]
    return [
        Route("/", overview.overview_page, methods=get),
        Route("/signin", sign_in_page, methods=both),
        Route("/signout", sign_out, methods=post),
        Route("/language", set_language, methods=post),
        Route("/signup", signup.signup_page, methods=both),
        Route("/signup/confirm", signup.confirm_page, methods=both),
        # ---- ucpages: APIKEY, records, settings, own password ----
        Route("/apikey", overview.apikey, methods=post),
        Route("/records", records.records_page, methods=get),
        Route("/records.csv", records.records_csv, methods=get),
        Route("/records/{voiceid}", records.record_page, methods=get),
        Route("/settings", account_settings.settings_page, methods=get),
        Route("/settings", account_settings.save_settings, methods=post),
        Route("/settings/test-push", account_settings.test_push, methods=post),
        Route("/me", me.me_page, methods=get),
        Route("/me/password", me.change_password, methods=post),
        # 企业认证 (certification)
        Route("/certification", certification.certification_page, methods=get),
        Route("/certification", certification.submit_certification, methods=post),
    ]


def user_center_routes() -> list[BaseRoute]:
    """The user center, mounted at ``/user`` (``/user`` itself redirects to ``/user/``)."""
    return FACE.mount(page_routes(), "user-center")
