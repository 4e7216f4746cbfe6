"""产品总览: the account at a glance — APIID, trial state, balance, calls today and this
month, the low-balance alert, the API endpoint and ready-to-run examples; the APIKEY
revealed or rotated after the password again (throttled like sign-in)."""

from __future__ import annotations

import math
import time
from typing import Any

from starlette.responses import Response

from voiceotp.errors import KeyInGrace
from voiceotp.gateway.api.voice import VOICE_PATH
from voiceotp.gateway.api.wsdl import service_location
from voiceotp.store import usercenter as uc_db
from voiceotp.web.usercenter.core import FACE, OWNER, SELF, Page, account_of, view
from voiceotp.web.usercenter.examples import examples

__all__ = ["MESSAGES", "apikey", "overview_page"]

BAD_REAUTH = "Wrong password."
BAD_GRACE = "The grace period is out of range."
IN_GRACE = (
    "Your previous APIKEY is still in its grace period: rotating again with a grace period "
    "would stop it at once. Rotate without a grace period (every old key stops now), or "
    "wait until its grace period ends."
)
MESSAGES = (BAD_REAUTH, BAD_GRACE, IN_GRACE)


@view(SELF)
async def overview_page(page: Page) -> Response:
    return await render_overview(page)


async def render_overview(page: Page, *, status: int = 200, **shown: Any) -> Response:
    account = await account_of(page)
    now = page.gateway.clock()
    local = time.localtime(now)
    day = time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))
    month = time.mktime((local.tm_year, local.tm_mon, 1, 0, 0, 0, 0, 0, -1))
    today, this_month = await uc_db.call_counts(
        page.store, account_id=account.id, since=(day, month)
    )
    certification = await uc_db.latest_certification(page.store, account_id=account.id)
    endpoint, key = endpoint_url(page), shown.get("apikey", "")
    low = account.low_balance_alert
    return page.render(
        "overview.html", status_code=status, section="overview", account=account,
        today=today, this_month=this_month, certification=certification, endpoint=endpoint,
        welcome="welcome" in page.request.query_params, apikey=key,
        rotated=shown.get("rotated", False), error=shown.get("error", ""),
        examples=examples(endpoint=endpoint, apiid=account.name, apikey=key),
        low_balance=low is not None and account.balance < low,
        grace_until=account.old_apikey_until if account.old_apikey_until > now else 0,
        max_grace_h=page.gateway.settings.user_center.max_key_grace_s / 3600,
    )  # fmt: skip


def endpoint_url(page: Page) -> str:
    """The ihuyi endpoint of this gateway: ``public_url``, else the address the
    connection reached (as the WSDL names it; never the Host header)."""
    scope = {**page.request.scope, "path": VOICE_PATH}
    return service_location(scope, page.gateway.settings)


@view(OWNER)
async def apikey(page: Page) -> Response:
    """Reveal the APIKEY, or rotate it (the old one kept for a grace period, if asked):
    the password again first; the key shown on this answer only."""
    assert page.user is not None
    account = await account_of(page)
    if not await FACE.auth.reauth(page.request, page.user, page.field("password")):
        await page.audit("customer.apikey_refused", account.name)
        return await render_overview(page, status=403, error=BAD_REAUTH)
    if page.field("op") != "rotate":
        await page.audit("customer.apikey_reveal", account.name)
        return await render_overview(page, apikey=page.gateway.keybox.open(account.apikey_enc))
    grace_s = _grace_s(page)
    if grace_s is None:
        return await render_overview(page, status=400, error=BAD_GRACE)
    if grace_s and account.old_apikey_until > page.gateway.clock():
        # one previous key is kept: this would drop the one in its grace (a double-click)
        return await render_overview(page, status=409, error=IN_GRACE)
    try:
        new = await page.admin.rotate_key(account.name, grace_s=grace_s)
    except KeyInGrace:  # another rotation with a grace won the race
        return await render_overview(page, status=409, error=IN_GRACE)
    await page.audit("customer.apikey_rotate", account.name, "", {"grace_s": grace_s})
    return await render_overview(page, apikey=new.apikey, rotated=True)


def _grace_s(page: Page) -> int | None:
    """The grace asked for, in whole seconds (the form's hours), within the server's
    ``max_key_grace_s``; None when it is not."""
    text = page.field("grace_h") or "0"
    try:
        hours = float(text)
    except ValueError:
        return None
    if not math.isfinite(hours) or hours < 0:
        return None
    seconds = round(hours * 3600)
    return seconds if seconds <= page.gateway.settings.user_center.max_key_grace_s else None
