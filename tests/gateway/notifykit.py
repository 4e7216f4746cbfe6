"""Helpers of the voice-notification tests: a template filed and approved, Submits to the
notification path."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.gateway.harness import FIXTURE, Harness
from voiceotp.protocol import Method, parse_result
from voiceotp.protocol.models import Result

NOW = float(FIXTURE["now"])
ACCOUNT = FIXTURE["accounts"][0]["account"]
APIKEY = FIXTURE["accounts"][0]["apikey"]
NOTICE = "/vm/webservice/voice.php"
PARCEL = "您的快递【变量】已到达{station:12},请凭取件码{code:6}取件。"
FILLED = "您的快递SF123已到达人民路站,请凭取件码8812取件。"


async def approved(harness: Harness, text: str = PARCEL, **kw: Any) -> int:
    """File ``text`` for the fixture's account and approve it; its id."""
    gw = harness.gateway
    account = await gw.store.get_account(ACCOUNT)
    assert account is not None
    filed = await gw.templates.file(account.id, text, by="test", **kw)
    await gw.templates.decide(filed.id, approve=True, by="test")
    return filed.id


async def call(
    harness: Harness,
    method: str = "Submit",
    *,
    path: str = NOTICE,
    headers: dict[str, str] | None = None,
    **form: str,
) -> httpx2.Response:
    data = {"account": ACCOUNT, "password": APIKEY, **form}
    return await harness.client().post(
        path, params={"method": method, "format": "json"}, data=data, headers=headers
    )


async def notify(harness: Harness, mobile: str = "13800138000", **form: str) -> Result:
    """A notice's Submit, parsed (content FILLED unless given)."""
    form.setdefault("content", FILLED)
    response = await call(harness, mobile=mobile, **form)
    return parse_result(response.content, Method.SUBMIT)
