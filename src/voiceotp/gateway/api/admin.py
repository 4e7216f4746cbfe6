"""The JSON admin API under ``/admin/api`` (bearer token, constant-time compare).

One table, :data:`ENDPOINTS`, makes both the routes and the OpenAPI document. Errors
are JSON ``{"error": ...}``: 400 for invalid input (checked by the Admin service before the
store sees it, see admincheck.py), 401, 404, 413. Anything unexpected is a 500 with a
generic message and an error id; the traceback goes to the log under that id, never to
the client.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from voiceotp.gateway.admin import Admin, AdminError, NotFound, describe
from voiceotp.gateway.admincheck import INT_RANGES, SETTINGS
from voiceotp.gateway.api import fraud, templates
from voiceotp.gateway.api.body import BodyTooLarge, read_body
from voiceotp.gateway.submit.service import Gateway

log = logging.getLogger(__name__)
PREFIX = "/admin/api"
Handler = Callable[[Admin, Request, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    body: dict[str, str] | None = None  # field -> JSON type, for the OpenAPI document


async def _list(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    return await admin.list_accounts()


async def _create(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    created = await admin.create_account(name=body.get("account"), balance=body.get("balance", 0))
    return {"account": created.account, "apikey": created.apikey}


async def _show(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    return await admin.describe(request.path_params["name"])


async def _patch(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    return describe(await admin.configure(request.path_params["name"], **body))


async def _topup(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    units: Any = body.get("units")  # the Admin service checks both
    reason = body.get("reason", "topup")
    return {"balance": await admin.top_up(request.path_params["name"], units, reason)}


async def _rotate(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    rotated = await admin.rotate_key(request.path_params["name"])
    return {"account": rotated.account, "apikey": rotated.apikey}


async def _blacklist(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    listed = request.method == "PUT"
    await admin.set_blacklisted(request.path_params["name"], request.path_params["mobile"], listed)
    return {"ok": True}


async def _audit(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    return await admin.audit(request.path_params["name"])


async def _policy(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    return await admin.server_policy()


async def _policy_entry(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    kind, value = request.path_params["kind"], request.path_params["value"]
    await admin.set_server_entry(kind, value, request.method == "PUT")
    return {"ok": True}


async def _export(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    params = request.query_params
    with_audio = params.get("audio", "").lower() in ("1", "true", "yes")
    name, mobile = request.path_params["name"], params.get("mobile", "")
    return await admin.export_personal_data(name, mobile=mobile, with_audio=with_audio)


async def _erase(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    mobile: Any = body.get("mobile", "")  # the Admin service checks it
    return await admin.erase_personal_data(request.path_params["name"], mobile=mobile)


JSON_TYPES = {bool: "boolean", list: "array", int: "integer", str: "string"}
ACCOUNT_SETTINGS = {key: JSON_TYPES[kind] for key, kind in SETTINGS.items()}
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/accounts", _list, "List accounts"),
    Endpoint("POST", "/accounts", _create, "Create an account (APIKEY shown once)",
             {"account": "string", "balance": "integer"}),
    Endpoint("GET", "/accounts/{name}", _show, "Show an account"),
    Endpoint("PATCH", "/accounts/{name}", _patch, "Change settings, freeze/unfreeze",
             ACCOUNT_SETTINGS),
    Endpoint("POST", "/accounts/{name}/topup", _topup, "Add units (negative: remove)",
             {"units": "integer", "reason": "string"}),
    Endpoint("POST", "/accounts/{name}/rotate-key", _rotate, "New APIKEY (shown once)"),
    Endpoint("PUT", "/accounts/{name}/blacklist/{mobile}", _blacklist, "Blacklist a number"),
    Endpoint("DELETE", "/accounts/{name}/blacklist/{mobile}", _blacklist, "Unlist a number"),
    Endpoint("GET", "/accounts/{name}/audit", _audit, "Audit events of an account"),
    Endpoint("GET", "/accounts/{name}/personal-data", _export,
             "Data-subject export: numbers and audio of the account's calls "
             "(?mobile= one number, ?audio=1 the WAVs as base64); audited"),
    Endpoint("POST", "/accounts/{name}/personal-data/erase", _erase,
             "Data-subject erasure: mask the numbers, delete the audio of ended calls "
             "(all, or body mobile); audited", {"mobile": "string"}),
    Endpoint("GET", "/policy", _policy, "Server-wide deny IPs, blacklist, sensitive words"),
    Endpoint("PUT", "/policy/{kind}/{value:path}", _policy_entry, "Add a server-wide entry"),
    Endpoint("DELETE", "/policy/{kind}/{value:path}", _policy_entry, "Remove a server-wide entry"),
    Endpoint("GET", "/fraud", fraud.throttled, "Number prefixes the fraud guard throttles"),
    Endpoint("PUT", "/accounts/{name}/fraud", fraud.override, "Fraud-guard overrides",
             fraud.OVERRIDE_BODY),
    Endpoint("GET", "/templates", templates.listed,
             "Voice-notification templates (?state=pending|approved|rejected)"),
    Endpoint("GET", "/accounts/{name}/templates", templates.of_account,
             "The account's notification templates"),
    Endpoint("POST", "/accounts/{name}/templates", templates.file,
             "File a notification template (pending until approved)", templates.FILE_BODY),
    Endpoint("POST", "/templates/{id}/approve", templates.approve, "Approve a pending template",
             templates.REASON_BODY),
    Endpoint("POST", "/templates/{id}/reject", templates.reject,
             "Reject a pending template (reason required)", templates.REASON_BODY),
    Endpoint("DELETE", "/templates/{id}", templates.remove, "Delete a template"),
    Endpoint("POST", "/templates/{id}/play_times", templates.play_times,
             "How many times the template's notices are said (1-3)", templates.TIMES_BODY),
)  # fmt: skip


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _authorized(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, credential = given.partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(credential.strip().encode(), token.encode())
    )


async def _json_body(request: Request, limit: int) -> dict[str, Any]:
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdminError("the body is not JSON") from exc
    if not isinstance(doc, dict):
        raise AdminError("the body must be a JSON object")
    return doc


def _route(endpoint: Endpoint) -> Route:
    async def call(request: Request) -> Response:
        gw: Gateway = request.app.state.gateway
        if not _authorized(request, gw.settings.admin_token):
            return _error(401, "missing or wrong bearer token")
        try:
            body = await _json_body(request, gw.settings.max_body_bytes)
            return JSONResponse(await endpoint.handler(gw.admin, request, body))
        except BodyTooLarge:
            return _error(413, "body too large")
        except NotFound as exc:
            return _error(404, str(exc))
        except AdminError as exc:
            return _error(400, str(exc))
        except Exception:  # a bug or an outage: log it whole, tell the client only an id
            error_id = secrets.token_hex(6)
            log.exception(
                "admin %s %s failed, error id %s", endpoint.method, endpoint.path, error_id
            )
            return _error(500, f"internal error (id {error_id}); the gateway log has the details")

    return Route(PREFIX + endpoint.path, call, methods=[endpoint.method])


RESPONSES = {
    str(status): {"description": text}
    for status, text in (
        (200, "OK"),
        (400, "Invalid"),
        (401, "Unauthorized"),
        (404, "Unknown"),
        (413, "Body too large"),
        (500, "Internal error (the gateway log has the details under the error id)"),
    )
}


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 for :data:`ENDPOINTS`."""
    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        op: dict[str, Any] = {
            "summary": e.summary,
            "security": [{"bearer": []}],
            "responses": RESPONSES,
        }
        params = [p.strip("{}").split(":")[0] for p in e.path.split("/") if p.startswith("{")]
        if params:
            op["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ]
        if e.body:
            props = {k: _property(k, t) for k, t in e.body.items()}
            schema = {"type": "object", "properties": props}
            op["requestBody"] = {"content": {"application/json": {"schema": schema}}}
        paths.setdefault(PREFIX + e.path.replace(":path", ""), {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "voiceotp gateway admin API", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


def _property(name: str, json_type: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": json_type}
    if name in INT_RANGES:
        schema["minimum"], schema["maximum"] = INT_RANGES[name]
    return schema


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def admin_routes() -> list[Route]:
    return [Route(PREFIX + "/openapi.json", _openapi), *(_route(e) for e in ENDPOINTS)]
