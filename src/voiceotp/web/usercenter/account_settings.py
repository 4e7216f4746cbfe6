"""Settings of the customer's account: IP allow-list (the caller's IP shown), callback URL
(checked as the console and the admin API check it: ``Admin.configure``) with how pushes
are signed and a real test push, the low-balance alert threshold, and the
dynamic-password-only switch. Every change is audited with the before and after."""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import Response

from voiceotp.delivery.notify.direct import push_guard, push_once
from voiceotp.delivery.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from voiceotp.errors import AdminError
from voiceotp.gateway.admin import describe
from voiceotp.store import AccountRecord
from voiceotp.store.web import audit_within_limit
from voiceotp.web.auth import request_ip
from voiceotp.web.usercenter.core import OWNER, SELF, Page, account_of, redirect, view

__all__ = ["MESSAGES", "save_settings", "settings_page", "test_push"]

NO_CALLBACK = "Set a callback URL first."
BAD_THRESHOLD = "The threshold is a whole number of units (empty: off)."
TOO_MANY_PUSHES = "Too many test pushes. Try again in a minute."
MESSAGES = (NO_CALLBACK, BAD_THRESHOLD, TOO_MANY_PUSHES, "Saved.")
TEST_PUSHES_PER_MINUTE = 5  # per account, counted in the audit log (every process agrees)


@view(SELF)
async def settings_page(page: Page) -> Response:
    flash = "Saved." if "done" in page.request.query_params else ""
    return await _render(page, await account_of(page), flash=flash)


async def _render(
    page: Page, account: AccountRecord, *, status: int = 200, **shown: Any
) -> Response:
    return page.render(
        "settings.html", status_code=status, section="settings", account=account,
        your_ip=request_ip(page.request), error=shown.get("error", ""),
        flash=shown.get("flash", ""), push=shown.get("push"),
        signature_header=SIGNATURE_HEADER, timestamp_header=TIMESTAMP_HEADER,
    )  # fmt: skip


@view(OWNER)
async def save_settings(page: Page) -> Response:
    """Only what changed is written (a new threshold re-arms the alert)."""
    account = await account_of(page)
    before = describe(account)
    try:
        wanted = {
            "allow_ips": [p for p in page.field("allow_ips").replace(",", " ").split() if p],
            "callback_url": page.field("callback_url"),
            "low_balance_alert": _threshold(page.field("low_balance_alert")),
            "require_dynamic": page.field("require_dynamic") == "on",
        }
        changes = {k: v for k, v in wanted.items() if before[k] != v}
        if changes:
            await page.admin.configure(account.name, **changes)
    except AdminError as exc:
        return await _render(page, account, status=400, error=str(exc))
    if changes:
        after = describe(await account_of(page))
        await page.audit("customer.settings", account.name, before, after)
    return redirect("/settings?done=1")


def _threshold(text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise AdminError(BAD_THRESHOLD)
    return int(text)


@view(OWNER)
async def test_push(page: Page) -> Response:
    """POST a signed ``{"type": "test", ...}`` to the callback URL now, through the push
    guard, and show how the receiver answered."""
    account = await account_of(page)
    if not account.callback_url:
        return await _render(page, account, status=400, error=NO_CALLBACK)
    if not await _count_test_push(page, account.name):
        return await _render(page, account, status=429, error=TOO_MANY_PUSHES)
    gateway = page.gateway
    conf, now = gateway.settings.delivery, gateway.clock()
    doc = {"type": "test", "account": account.name, "time": int(now)}
    result = await push_once(
        account.callback_url, doc, gateway.keybox.open(account.apikey_enc),
        guard=push_guard(conf, dev_mode=gateway.settings.dev_mode), now=now,
        timeout_s=conf.push_timeout_s,
    )  # fmt: skip
    await page.audit(
        "customer.test_push_result", account.name, "",
        {"status": result.status, "error": result.error},
    )  # fmt: skip
    return await _render(page, account, push=result)


async def _count_test_push(page: Page, account: str) -> bool:
    """Audit this test push before it is sent, unless the account made its
    ``TEST_PUSHES_PER_MINUTE`` already (the button is no request cannon): counted and
    written at once, so concurrent requests, or a slow receiver, cannot pass one count."""
    assert page.user is not None
    return await audit_within_limit(
        page.store, limit=TEST_PUSHES_PER_MINUTE, window_s=60.0, actor=page.user.login,
        actor_kind=page.face.kind, action="customer.test_push", target=account,
        ip=request_ip(page.request), now=time.time(),  # audit rows: the wall clock
    )  # fmt: skip
