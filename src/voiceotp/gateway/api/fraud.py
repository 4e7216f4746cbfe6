"""Admin API handlers of the fraud guard (docs/verify.md): what is throttled, and an
account's overrides. Registered in :data:`voiceotp.gateway.api.admin.ENDPOINTS`; the
operator console calls :func:`throttled_prefixes` and :func:`store_override` too."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from voiceotp.gateway.admin import Admin
from voiceotp.gateway.admincheck import check_fraud_override
from voiceotp.gateway.submit.service import Gateway
from voiceotp.store.verify import set_fraud_override

__all__ = ["OVERRIDE_BODY", "override", "store_override", "throttled", "throttled_prefixes"]

OVERRIDE_BODY = {"min_conversion": "number", "min_codes": "integer", "allow_prefixes": "array"}


async def throttled(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    """The (account, prefix) pairs the fraud guard throttles now, with the counts."""
    return await throttled_prefixes(request.app.state.gateway)


async def throttled_prefixes(gw: Gateway, account_id: int | None = None) -> list[dict[str, Any]]:
    """What the guard throttles now (of one account, or of all), sorted."""
    return [
        {
            "account": await gw.store.account_name(owner),
            "prefix": prefix,
            "detail": judgement.describe(),
        }
        for (owner, prefix), judgement in sorted(gw.fraud.throttled.items())
        if account_id is None or owner == account_id
    ]


async def override(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    """Set the account's thresholds (null: the server's) and allowed prefixes."""
    account = await admin.account(request.path_params["name"])
    await store_override(
        request.app.state.gateway,
        account.id,
        body.get("min_conversion"),
        body.get("min_codes"),
        body.get("allow_prefixes", []),
    )
    return {"ok": True}


async def store_override(
    gw: Gateway, account_id: int, conversion: Any, codes: Any, prefixes: Any
) -> None:
    """Check and store an account's override; in force at once in this process."""
    min_conversion, min_codes, allow = check_fraud_override(conversion, codes, prefixes)
    await set_fraud_override(
        gw.store,
        account_id,
        min_conversion=min_conversion,
        min_codes=min_codes,
        allow_prefixes=allow,
    )
    await gw.fraud.refresh(gw.clock())
