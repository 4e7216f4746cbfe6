"""The operator console at ``/console/`` (served by ``voiceotp serve``; ``--no-console``
turns it off). ``console_routes()`` is what the CLI hands to ``create_app``.

Roles: ``admin`` may do everything, ``support`` reads (and listens to calls). Every route
but sign-in and the static files is behind a session; every POST needs the CSRF token.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from voiceotp.web.console import (
    accounts,
    calls,
    certifications,
    dashboard,
    people,
    rules,
    session_pages,
    templates_page,
)
from voiceotp.web.console import template_audio_page as template_audio
from voiceotp.web.console.core import BASE, FACE

__all__ = ["BASE", "console_routes", "page_routes"]


def page_routes() -> list[Route]:
    """Every console page (paths relative to ``BASE``)."""
    get, post = ["GET"], ["POST"]
    return [
        Route("/", dashboard.dashboard_page, methods=get),
        Route("/signin", session_pages.sign_in_page, methods=["GET", "POST"]),
        Route("/signout", session_pages.sign_out, methods=post),
        Route("/language", session_pages.set_language, methods=post),
        Route("/accounts", accounts.accounts_page, methods=get),
        Route("/accounts", accounts.create_account, methods=post),
        Route("/accounts/{name}", accounts.account_page, methods=get),
        Route("/accounts/{name}/balance", accounts.adjust_balance, methods=post),
        Route("/accounts/{name}/state", accounts.set_state, methods=post),
        Route("/accounts/{name}/settings", accounts.configure, methods=post),
        Route("/accounts/{name}/fraud", accounts.fraud_override, methods=post),
        Route("/accounts/{name}/blacklist", accounts.blacklist, methods=post),
        Route("/accounts/{name}/apikey", accounts.apikey, methods=post),
        Route("/calls", calls.calls_page, methods=get),
        Route("/calls.csv", calls.calls_csv, methods=get),
        Route("/calls/{voiceid}", calls.call_page, methods=get),
        Route("/calls/{voiceid}/audio", calls.call_audio, methods=get),
        Route("/templates", templates_page.templates_page, methods=get),
        Route("/templates/{id}/decision", templates_page.decide_template, methods=post),
        Route("/templates/{id}", template_audio.template_page, methods=get),
        Route("/templates/{id}/play_times", template_audio.set_play_times, methods=post),
        Route("/templates/{id}/parts/{part}", template_audio.upload_recording, methods=post),
        Route("/templates/{id}/parts/{part}/delete", template_audio.remove_recording, methods=post),
        Route("/templates/{id}/parts/{part}/audio", template_audio.recording_audio, methods=get),
        Route("/rules", rules.rules_page, methods=get),
        Route("/rules", rules.change_rule, methods=post),
        Route("/audit", rules.audit_page, methods=get),
        Route("/operators", people.operators_page, methods=get),
        Route("/operators/{login}/signout", people.sign_out_operator, methods=post),
        Route("/me", people.me_page, methods=get),
        Route("/me/password", people.change_password, methods=post),
        Route("/me/totp", people.set_totp, methods=post),
        # the user center's certification requests and sign-ups
        Route("/certifications", certifications.certifications_page, methods=get),
        Route("/certifications/{cert_id}/decision", certifications.decide, methods=post),
        Route("/certifications/{cert_id}/file", certifications.certification_file, methods=get),
        Route("/signups", certifications.signups_page, methods=get),
    ]


def console_routes() -> list[BaseRoute]:
    """The console, mounted at ``/console`` (``/console`` itself redirects to ``/console/``)."""
    return FACE.mount(page_routes(), "console")
