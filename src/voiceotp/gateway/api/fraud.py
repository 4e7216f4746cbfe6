"""Admin API handlers of the fraud guard (docs/verify.md): what is throttled, and an
account's overrides. Registered in :data:`voiceotp.gateway.api.admin.ENDPOINTS`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from voiceotp.gateway.admin import Admin, AdminError
from voiceotp.store.verify import set_fraud_override

OVERRIDE_BODY = {"min_conversion": "number", "min_codes": "integer", "allow_prefixes": "array"}


async def throttled(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    """The (account, prefix) pairs the fraud guard throttles now, with the counts."""
    gw = request.app.state.gateway
    return [
        {
            "account": await gw.store.account_name(account_id),
            "prefix": prefix,
            "detail": judgement.describe(),
        }
        for (account_id, prefix), judgement in sorted(gw.fraud.throttled.items())
    ]


async def override(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    """Set the account's thresholds (null: the server's) and allowed prefixes."""
    account = await admin.account(request.path_params["name"])
    conversion, codes = body.get("min_conversion"), body.get("min_codes")
    prefixes = body.get("allow_prefixes", [])
    if conversion is not None and (
        isinstance(conversion, bool)
        or not isinstance(conversion, int | float)
        or not 0 <= conversion <= 1
    ):
        raise AdminError("min_conversion must be a number from 0 to 1, or null")
    if codes is not None and (not isinstance(codes, int) or not 0 <= codes <= 10**6):
        raise AdminError("min_codes must be an integer from 0 to 1000000, or null")
    if not isinstance(prefixes, list) or not all(_is_prefix(p) for p in prefixes):
        raise AdminError("allow_prefixes must be a list of 1 to 11 ASCII digits each")
    gw = request.app.state.gateway
    await set_fraud_override(
        gw.store,
        account.id,
        min_conversion=None if conversion is None else float(conversion),
        min_codes=codes,
        allow_prefixes=prefixes,
    )
    await gw.fraud.refresh(gw.clock())  # in force at once, in this process
    return {"ok": True}


def _is_prefix(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 11
