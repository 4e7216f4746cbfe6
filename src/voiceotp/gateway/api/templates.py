"""Admin API handlers of voice-notification templates (docs/notices.md); registered in
:data:`voiceotp.gateway.api.admin.ENDPOINTS`. The operator is "admin" (the bearer token
names nobody)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from voiceotp.gateway.admin import Admin
from voiceotp.gateway.submit.service import Gateway
from voiceotp.gateway.templates import describe_template

__all__ = [
    "FILE_BODY",
    "REASON_BODY",
    "TIMES_BODY",
    "approve",
    "file",
    "listed",
    "of_account",
    "play_times",
    "reject",
    "remove",
]

FILE_BODY = {"text": "string", "var_max": "integer"}
REASON_BODY = {"reason": "string"}
TIMES_BODY = {"play_times": "integer"}
BY = "admin"


def _gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


async def listed(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    """Every template, newest first (``?state=pending``: what waits for a decision)."""
    state = request.query_params.get("state") or None
    templates = await _gateway(request).templates.list(state=state)
    names = {a.id: a.name for a in await _gateway(request).store.list_accounts()}
    return [describe_template(t, names.get(t.account_id)) for t in templates]


async def of_account(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    account = await admin.account(request.path_params["name"])
    templates = await _gateway(request).templates.list(account.id)
    return [describe_template(t, account.name) for t in templates]


async def file(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    """File a template for the account (pending until approved)."""
    account = await admin.account(request.path_params["name"])
    templates = _gateway(request).templates
    filed = await templates.file(account.id, body.get("text"), var_max=body.get("var_max"), by=BY)
    return describe_template(filed, account.name)


async def approve(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    return await _decide(request, body, approve=True)


async def reject(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    return await _decide(request, body, approve=False)


async def _decide(request: Request, body: dict[str, Any], *, approve: bool) -> Any:
    templates = _gateway(request).templates
    decided = await templates.decide(
        request.path_params["id"], approve=approve, reason=body.get("reason", ""), by=BY
    )
    return describe_template(decided)


async def remove(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    await _gateway(request).templates.delete(request.path_params["id"])
    return {"ok": True}


async def play_times(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    """Say the template's notices ``play_times`` times (template_audio.py)."""
    audio = _gateway(request).template_audio
    done = await audio.set_play_times(request.path_params["id"], body.get("play_times"), by=BY)
    return describe_template(done)
