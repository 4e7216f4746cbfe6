"""Accounts: list, create, and everything ``voiceotp admin`` does to one account."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from voiceotp.errors import AdminError, NotFound
from voiceotp.gateway.admin import describe
from voiceotp.gateway.api.fraud import store_override, throttled_prefixes
from voiceotp.store import console as q
from voiceotp.store import usercenter as uc_db
from voiceotp.store.verify import fraud_override as stored_override
from voiceotp.web.console.core import ADMIN, SUPPORT, Page, auth, redirect, refusal, view

__all__ = ["account_page", "accounts_page", "create_account"]

LIMITS = (
    "rate_per_s",
    "cap_minute",
    "cap_hour",
    "cap_day",
    "abuse_prefix_burst",
    "abuse_distinct_numbers",
)


@view(SUPPORT)
async def accounts_page(page: Page) -> Response:
    """Accounts with search and sort."""
    search = page.request.query_params.get("q", "")[:16]
    sort = page.request.query_params.get("sort", "name")
    accounts = await q.find_accounts(page.store, search=search, sort=sort)
    return page.render(
        "accounts.html", section="accounts", accounts=accounts, q=search, sort=sort,
        sorts=list(q.ACCOUNT_SORTS), created=None, error="",
        certs=await uc_db.certification_states(page.store),
    )  # fmt: skip


@view(ADMIN)
async def create_account(page: Page) -> Response:
    try:
        balance = _int(page.field("balance") or "0")
        new = await page.admin.create_account(name=page.field("name") or None, balance=balance)
    except AdminError as exc:
        accounts = await q.find_accounts(page.store)
        return page.render(
            "accounts.html", status_code=400, section="accounts", accounts=accounts, q="",
            sort="name", sorts=list(q.ACCOUNT_SORTS), created=None, error=str(exc),
            certs=await uc_db.certification_states(page.store),
        )  # fmt: skip
    await page.audit("account.create", new.account, "", {"balance": balance})
    accounts = await q.find_accounts(page.store)
    return page.render(
        "accounts.html", section="accounts", accounts=accounts, q="", sort="name",
        sorts=list(q.ACCOUNT_SORTS), created=new, error="",
        certs=await uc_db.certification_states(page.store),
    )  # fmt: skip


@view(SUPPORT)
async def account_page(page: Page) -> Response:
    return await _detail(page)


async def _detail(page: Page, *, status: int = 200, **shown: Any) -> Response:
    name = page.request.path_params["name"]
    try:
        account = await page.admin.account(name)
    except AdminError:
        return refusal(page, 404, "Not found", "Not found")
    ledger = await q.ledger_rows(page.store, account_id=account.id)
    notes = await q.blacklist_notes(page.store, account_id=account.id)
    events = await q.account_events(page.store, account_id=account.id)
    from voiceotp.store.web import list_audit

    changes = await list_audit(page.store, target=account.name, limit=20)
    done = "done" in page.request.query_params
    return page.render(
        "account.html", status_code=status, section="accounts", a=account, ledger=ledger,
        notes=notes, events=events, changes=changes, error=shown.get("error", ""),
        flash=shown.get("flash", "Saved." if done else ""), apikey=shown.get("apikey", ""),
        defaults=page.gateway.settings, fraud=await stored_override(page.store, account.id),
        throttled=await throttled_prefixes(page.gateway, account.id),
        certification=await uc_db.latest_certification(page.store, account_id=account.id),
    )  # fmt: skip


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise AdminError(f"not an integer: {text[:20]!r}") from None


async def _change(page: Page, action: str, work: Any) -> Response:
    """Run ``work()`` (an Admin call) with the account's before/after in the audit log."""
    name = page.request.path_params["name"]
    try:
        before = describe(await page.admin.account(name))
        await work()
        after = describe(await page.admin.account(name))
    except NotFound:
        return refusal(page, 404, "Not found", "Not found")
    except AdminError as exc:
        return await _detail(page, status=400, error=str(exc))
    await page.audit(action, name, before, after)
    return redirect(f"/accounts/{name}?done=1")


@view(ADMIN)
async def adjust_balance(page: Page) -> Response:
    """Top up or deduct, with a reason (a ledger row)."""
    name = page.request.path_params["name"]

    async def work() -> None:
        units = _int(page.field("units"))
        if units <= 0:
            raise AdminError("units must be a positive integer")
        sign = -1 if page.field("op") == "deduct" else 1
        await page.admin.top_up(name, sign * units, page.field("reason") or "console")

    return await _change(page, "account.balance", work)


@view(ADMIN)
async def set_state(page: Page) -> Response:
    """Freeze, unfreeze, or clear an abuse freeze."""
    name, state = page.request.path_params["name"], page.field("state")
    if state not in ("active", "frozen"):
        return await _detail(page, status=400, error="state must be active or frozen")
    return await _change(page, "account.state", lambda: page.admin.set_state(name, state))


@view(ADMIN)
async def configure(page: Page) -> Response:
    """Limits, caps, abuse allowance, allow-list, callback URL, charge policy, dynamic
    passwords. An empty number is the server's default (abuse allowance: 0 is off)."""
    name = page.request.path_params["name"]

    async def work() -> None:
        changes: dict[str, Any] = {}
        for key in LIMITS:
            text = page.field(key)
            changes[key] = _int(text) if text else None
        changes["allow_ips"] = [p.strip() for p in page.field("allow_ips").split() if p.strip()]
        changes["callback_url"] = page.field("callback_url")
        policy = page.field("refund_unconnected")
        changes["refund_unconnected"] = {"yes": True, "no": False}.get(policy)
        changes["require_dynamic"] = page.field("require_dynamic") == "on"
        await page.admin.configure(name, **changes)

    return await _change(page, "account.settings", work)


@view(ADMIN)
async def fraud_override(page: Page) -> Response:
    """The account's fraud-guard thresholds (empty: the server's) and allowed prefixes."""
    name = page.request.path_params["name"]
    try:
        account = await page.admin.account(name)
        before = await stored_override(page.store, account.id)
        conversion, codes = page.field("min_conversion"), page.field("min_codes")
        await store_override(
            page.gateway,
            account.id,
            _number(conversion, float) if conversion else None,
            _number(codes, int) if codes else None,
            page.field("allow_prefixes").replace(",", " ").split(),
        )
    except NotFound:
        return refusal(page, 404, "Not found", "Not found")
    except AdminError as exc:
        return await _detail(page, status=400, error=str(exc))
    after = await stored_override(page.store, account.id)
    await page.audit("account.fraud", name, before, after)
    return redirect(f"/accounts/{name}?done=1")


def _number(text: str, kind: type[float] | type[int]) -> float | int:
    try:
        return kind(text)
    except ValueError:
        raise AdminError(f"not a number: {text[:20]!r}") from None


@view(ADMIN)
async def blacklist(page: Page) -> Response:
    """Put a number on, or take it off, the account's blacklist."""
    name, listed = page.request.path_params["name"], page.field("op") != "remove"
    mobile, note = page.field("mobile"), page.field("note")

    async def work() -> None:
        if len(note) > 200:
            raise AdminError("a note is at most 200 characters")
        await page.admin.set_blacklisted(name, mobile, listed)
        if listed and note:
            account = await page.admin.account(name)
            await q.set_blacklist_note(page.store, account_id=account.id, mobile=mobile, note=note)

    return await _change(page, "account.blacklist", work)


@view(ADMIN)
async def apikey(page: Page) -> Response:
    """Reveal or rotate the APIKEY: the operator's password again, the key shown once."""
    assert page.user is not None
    name = page.request.path_params["name"]
    if not await auth.reauth(page.request, page.user, page.field("password")):
        await page.audit("account.apikey_refused", name)
        return await _detail(page, status=403, error="Wrong password.")
    try:
        account = await page.admin.account(name)
    except AdminError:
        return refusal(page, 404, "Not found", "Not found")
    if page.field("op") == "rotate":
        key = (await page.admin.rotate_key(name)).apikey
        await page.audit("account.apikey_rotate", name)
    else:
        key = page.gateway.keybox.open(account.apikey_enc)
        await page.audit("account.apikey_reveal", name)
    return await _detail(page, apikey=key)
