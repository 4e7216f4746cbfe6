"""免费体验: a visitor's mobile number is called with a voice code (the gateway's own
Verify, from the ``user_center.signup_account``), the visitor types the code and a
password, and a trial account opens with ``free_calls`` units; the number is its login.

The same two steps reset the password of a number that already has an account, so the
first step answers alike whether or not the number is registered (no enumeration), and
only whoever hears the code learns which it was. Limits: sign-up calls per client IP per
hour and per number per day (counted in the store, so every process agrees), the
gateway's per-number caps and fraud guard on the sign-up account, and Verify's expiry and
5 attempts per code.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from starlette.requests import Request
from starlette.responses import Response

from voiceotp.errors import AdminError, WebInputError
from voiceotp.gateway.submit.directory import AccountState
from voiceotp.protocol import Code, Format, IncomingRequest, Method, is_valid_mobile, mask_mobile
from voiceotp.store import usercenter as uc_db
from voiceotp.store import web as web_db
from voiceotp.store.keys import new_account_name, new_apikey
from voiceotp.web.auth import is_https, request_ip, token_hash
from voiceotp.web.face import Page
from voiceotp.web.passwords import check_new_password, hash_password
from voiceotp.web.usercenter.core import BASE, FACE, KIND
from voiceotp.web.usercenter.session_pages import PAGES

__all__ = ["confirm_page", "signup_page"]

log = logging.getLogger(__name__)
SIGNUP_COOKIE = "voiceotp_user_signup"  # the sign-up in progress (its token; the store: hash)

TOO_MANY_FROM_IP = "Too many sign-ups from your network. Try again in an hour."
TOO_MANY_TO_NUMBER = "This number has been called too often. Try again later."
BAD_NUMBER = "Enter a mainland China mobile number (11 digits, starting with 1)."
UNAVAILABLE = "We could not call this number now. Try again later."
CLOSED = "Sign-up is closed. Ask the operator for an account."
EXPIRED = "The code has expired or was used up. Start again."
WRONG_CODE = "Wrong code. Enter the digits you heard."
NO_CODE = "Enter the code you heard."
MISMATCH = "The two passwords differ."
MESSAGES = (
    TOO_MANY_FROM_IP, TOO_MANY_TO_NUMBER, BAD_NUMBER, UNAVAILABLE, CLOSED, EXPIRED,
    WRONG_CODE, NO_CODE, MISMATCH,
)  # fmt: skip
_CAPS = {Code.NUMBER_MINUTE_CAP, Code.NUMBER_HOUR_CAP, Code.NUMBER_DAY_CAP, Code.PREFIX_THROTTLED}


async def signup_page(request: Request) -> Response:
    """GET: the number form; POST: call it with a code, then the confirm step."""
    page = FACE.page(request)
    settings = page.gateway.settings.user_center
    if not settings.signup:
        return page.refusal(404, "Not found", CLOSED)
    if request.method == "GET":
        expired = "expired" in request.query_params
        return _number_form(page, EXPIRED if expired else "", 200)
    page.form = await request.form(max_files=0, max_fields=20)
    if not PAGES.pre_token_ok(page):
        return _number_form(page, "Refused", 403)
    mobile = "".join(page.field("mobile").split())
    if not is_valid_mobile(mobile):
        return _number_form(page, BAD_NUMBER, 400)
    now, ip = page.gateway.clock(), request_ip(request)
    account = await signup_account(page)
    token = secrets.token_urlsafe(32)
    hashed = token_hash(token)
    refused = await uc_db.reserve_signup(
        page.store, token_hash=hashed, mobile=mobile, ip=ip, now=now,
        per_ip_hour=settings.per_ip_hour, per_number_day=settings.per_number_day,
        lock_account_id=account.id,
    )  # fmt: skip
    if refused:
        return _number_form(page, TOO_MANY_FROM_IP if refused == "ip" else TOO_MANY_TO_NUMBER, 429)
    answer = await page.gateway.handle(
        _request(
            Method.VERIFY, account, mobile=mobile, length=str(settings.code_length),
            ttl=str(settings.code_ttl_s),
        ),
        None,
    )  # fmt: skip
    if answer.code != Code.OK:
        await uc_db.drop_signup(page.store, token_hash=hashed)
        log.warning("sign-up call to %s refused with code %s", mask_mobile(mobile), answer.code)
        message = TOO_MANY_TO_NUMBER if answer.code in _CAPS else UNAVAILABLE
        if answer.code == Code.MOBILE_INVALID:
            message = BAD_NUMBER
        return _number_form(page, message, 429)
    voiceid = str(getattr(answer, "voiceid", ""))
    await uc_db.set_signup_call(page.store, token_hash=hashed, voiceid=voiceid)
    await page.audit("customer.signup_call", mask_mobile(mobile), actor=mask_mobile(mobile))
    response = FACE.redirect("/signup/confirm")
    response.set_cookie(
        SIGNUP_COOKIE,
        token,
        max_age=settings.code_ttl_s,
        path=BASE,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )
    return response


async def confirm_page(request: Request) -> Response:
    """GET: the code and password form; POST: check the code, open the account (or set
    the number's new password), and sign in."""
    page = FACE.page(request)
    settings = page.gateway.settings.user_center
    token = request.cookies.get(SIGNUP_COOKIE, "")
    signup = None
    if settings.signup and token and len(token) <= 64:
        signup = await uc_db.get_signup(page.store, token_hash=token_hash(token))
    now = page.gateway.clock()
    if signup is None or signup.state != "calling" or now - signup.created_at > settings.code_ttl_s:
        return FACE.redirect("/signup?expired=1")
    if request.method == "GET":
        return _confirm_form(page, signup.mobile, "", 200)
    page.form = await request.form(max_files=0, max_fields=20)
    if not PAGES.pre_token_ok(page):
        return _confirm_form(page, signup.mobile, "Refused", 403)
    password = page.field("password")
    if password != page.field("password2"):
        return _confirm_form(page, signup.mobile, MISMATCH, 400)
    try:  # before the code is spent: a refused password must not cost an attempt
        encoded = await asyncio.to_thread(hash_password, check_new_password(password))
    except WebInputError as exc:
        return _confirm_form(page, signup.mobile, str(exc), 400)
    code = page.field("code")
    if not code:
        return _confirm_form(page, signup.mobile, NO_CODE, 400)
    account = await signup_account(page)
    answer = await page.gateway.handle(
        _request(Method.CHECK, account, mobile=signup.mobile, code=code, voiceid=signup.voiceid),
        None,
    )
    if answer.code in (Code.CODE_WRONG, Code.CODE_EMPTY):
        return _confirm_form(page, signup.mobile, WRONG_CODE, 400)
    if answer.code != Code.OK:
        response = _number_form(page, EXPIRED, 400)
        response.delete_cookie(SIGNUP_COOKIE, path=BASE)
        return response
    user = await web_db.get_web_user(page.store, kind=KIND, login=signup.mobile)
    if user is not None and user.account_id is not None:
        await web_db.update_web_user(page.store, user_id=user.id, password_hash=encoded)
        await web_db.revoke_session(page.store, user_id=user.id)
        account_id, action = user.account_id, "customer.password_reset"
    else:
        account_id = await _open_trial(page, signup.mobile, encoded)
        action = "customer.signup"
        user = await web_db.get_web_user(page.store, kind=KIND, login=signup.mobile)
        assert user is not None
    await uc_db.finish_signup(page.store, signup_id=signup.id, account_id=account_id, now=now)
    await page.audit(action, mask_mobile(signup.mobile), actor=user.login)
    response = FACE.redirect("/?welcome=1")
    response.delete_cookie(SIGNUP_COOKIE, path=BASE)
    await FACE.auth.start(request, response, user)
    return response


async def _open_trial(page: Page, mobile: str, encoded: str) -> int:
    """A trial account for ``mobile`` (a fresh name; retried on the rare name clash)."""
    settings = page.gateway.settings.user_center
    for _ in range(5):
        name = new_account_name()
        if await page.store.get_account(name) is not None:
            continue
        account_id = await uc_db.open_trial_account(
            page.store,
            name=name,
            apikey_enc=page.gateway.keybox.seal(new_apikey()),
            mobile=mobile,
            free_calls=settings.free_calls,
            login=mobile,
            password_hash=encoded,
            now=page.gateway.clock(),
        )
        await page.gateway.directory.refresh_if_changed()
        return account_id
    raise AdminError("no free account name")  # 10^8 names: not reached in practice


async def signup_account(page: Page) -> AccountState:
    """The account whose Verify calls sign-up codes; made on first use."""
    gateway, settings = page.gateway, page.gateway.settings.user_center
    account = await gateway.directory.account(settings.signup_account)
    if account is None:
        try:
            await gateway.admin.create_account(
                name=settings.signup_account, balance=settings.signup_account_balance
            )
        except Exception:  # made meanwhile by a concurrent sign-up (any process)?
            gateway.directory.forget(settings.signup_account)
            if await gateway.directory.account(settings.signup_account) is None:
                raise
        gateway.directory.forget(settings.signup_account)
        account = await gateway.directory.account(settings.signup_account)
    assert account is not None
    return account


def _request(method: Method, account: AccountState, **params: str) -> IncomingRequest:
    return IncomingRequest(
        method, Format.JSON, {"account": account.name, "password": account.apikey, **params}
    )


def _number_form(page: Page, message: str, status: int) -> Response:
    return PAGES.public(
        page, "signup.html", status, message=message, mobile=page.field("mobile")[:20]
    )


def _confirm_form(page: Page, mobile: str, message: str, status: int) -> Response:
    return PAGES.public(
        page, "signup_confirm.html", status, message=message, masked=mask_mobile(mobile)
    )
