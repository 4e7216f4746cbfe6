"""免费体验 in-process, on both stores: a code called through the gateway's own Verify opens
a trial account (or resets the number's password), limited per client IP and per number,
with no enumeration; the trial account calls only the number it proved (4053)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx2
import pytest
from starlette.applications import Starlette

from tests.clock import FakeClock
from tests.gateway.harness import VOICE
from tests.gateway.verifykit import spoken, wrong
from voiceotp.gateway import Settings, create_app
from voiceotp.gateway.submit.service import Gateway
from voiceotp.protocol import Method, SubmitResult, parse_result
from voiceotp.store import Store
from voiceotp.store import usercenter as uc_db
from voiceotp.store.web import get_web_user
from voiceotp.web.usercenter import user_center_routes

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
MOBILE, OTHER = "13912345678", "13912340000"
PASSWORD = "a long enough secret"


@dataclass
class Center:
    app: Starlette
    clock: FakeClock

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    def client(self, ip: str = "198.51.100.7") -> httpx2.AsyncClient:
        transport = httpx2.ASGITransport(app=self.app, client=(ip, 40000))
        return httpx2.AsyncClient(transport=transport, base_url="http://gw")

    async def call_me(self, client: httpx2.AsyncClient, mobile: str = MOBILE) -> httpx2.Response:
        form = await client.get("/user/signup")
        token = TOKEN.search(form.text)
        assert token is not None
        return await client.post(
            "/user/signup", data={"csrf_token": token.group(1), "mobile": mobile}
        )

    async def confirm(
        self, client: httpx2.AsyncClient, code: str, password: str = PASSWORD
    ) -> httpx2.Response:
        form = await client.get("/user/signup/confirm")
        token = TOKEN.search(form.text)
        assert token is not None, form.text
        data = {"csrf_token": token.group(1), "code": code, "password": password}
        return await client.post("/user/signup/confirm", data={**data, "password2": password})

    async def code_for(self, mobile: str = MOBILE) -> str:
        """What the dialer speaks for the number's latest sign-up call."""
        rows = await self.gateway.store.read(
            "SELECT voiceid FROM signups WHERE mobile = $1 ORDER BY id DESC LIMIT 1", mobile
        )
        return await spoken(self, str(rows[0][0]))  # type: ignore[arg-type]


@pytest.fixture
async def center(settings: Settings, store: Store) -> AsyncIterator[Center]:
    clock = FakeClock(1_800_000_000.0)
    app = create_app(
        settings, store=store, migrate=False, clock=clock, extra_routes=user_center_routes()
    )
    async with app.router.lifespan_context(app):
        yield Center(app, clock)


async def submit(center: Center, account: str, apikey: str, mobile: str) -> SubmitResult:
    async with center.client() as client:
        answer = await client.post(
            VOICE,
            params={"method": "Submit"},
            data={"account": account, "password": apikey, "mobile": mobile, "content": "1234"},
        )
    result = parse_result(answer.content, Method.SUBMIT)
    assert isinstance(result, SubmitResult)
    return result


async def test_sign_up_opens_a_trial_account_that_calls_only_its_number(center: Center) -> None:
    async with center.client() as client:
        called = await center.call_me(client)
        assert called.status_code == 303
        assert called.headers["location"] == "/user/signup/confirm"
        answer = await center.confirm(client, await center.code_for())
        assert answer.status_code == 303
        assert answer.headers["location"] == "/user/?welcome=1"
        overview = await client.get("/user/")
        assert overview.status_code == 200
        assert MOBILE not in overview.text  # shown masked, as everywhere
        assert "139****5678" in overview.text
    store = center.gateway.store
    user = await get_web_user(store, kind="customer", login=MOBILE)
    assert user is not None
    assert user.account_id is not None
    name = await store.account_name(user.account_id)
    assert name is not None
    account = await store.get_account(name)
    assert account is not None
    assert account.trial
    assert account.trial_numbers == (MOBILE,)
    assert account.balance == center.gateway.settings.user_center.free_calls
    apikey = center.gateway.keybox.open(account.apikey_enc)
    assert (await submit(center, name, apikey, MOBILE)).code == 2
    refused = await submit(center, name, apikey, OTHER)
    assert refused.code == 4053
    assert refused.msg == "体验账户只能呼叫注册时验证的号码,请完成企业认证"
    signups = await uc_db.list_signups(store)
    assert [(s.state, s.account_id) for s in signups] == [("done", user.account_id)]


async def test_the_first_step_answers_alike_for_a_registered_number(center: Center) -> None:
    async with center.client("198.51.100.1") as client:
        first = await center.call_me(client)
        await center.confirm(client, await center.code_for())
    center.clock.advance(3600)  # past the per-number minute and hour caps
    async with center.client("198.51.100.2") as registered, center.client("198.51.100.3") as new:
        again = await center.call_me(registered, MOBILE)
        fresh = await center.call_me(new, OTHER)
        confirm_registered = await registered.get("/user/signup/confirm")
        confirm_new = await new.get("/user/signup/confirm")
    assert first.status_code == again.status_code == fresh.status_code == 303
    assert again.headers["location"] == fresh.headers["location"]
    masked = {MOBILE: "139****5678", OTHER: "139****0000"}
    strip = confirm_registered.text.replace(masked[MOBILE], "N")
    assert TOKEN.sub("", strip) == TOKEN.sub("", confirm_new.text.replace(masked[OTHER], "N"))


async def test_the_same_steps_reset_a_registered_numbers_password(center: Center) -> None:
    async with center.client() as client:
        await center.call_me(client)
        await center.confirm(client, await center.code_for())
    user = await get_web_user(center.gateway.store, kind="customer", login=MOBILE)
    assert user is not None
    center.clock.advance(3600)
    async with center.client() as client:
        await center.call_me(client)
        answer = await center.confirm(client, await center.code_for(), "another long secret")
        assert answer.status_code == 303
    after = await get_web_user(center.gateway.store, kind="customer", login=MOBILE)
    assert after is not None
    assert after.account_id == user.account_id  # no second account
    assert after.password_hash != user.password_hash
    accounts = await center.gateway.store.read("SELECT COUNT(*) FROM accounts WHERE trial")
    assert int(accounts[0][0]) == 1


async def test_sign_up_calls_are_limited_per_client_ip(center: Center) -> None:
    limit = center.gateway.settings.user_center.per_ip_hour
    async with center.client("203.0.113.50") as client:
        for i in range(limit):
            answer = await center.call_me(client, f"1391234{i:04d}")
            assert answer.status_code == 303, answer.text
        refused = await center.call_me(client, "13912349999")
        assert refused.status_code == 429
        assert "一小时后再试" in refused.text
    async with center.client("203.0.113.51") as other_network:
        assert (await center.call_me(other_network, "13912349999")).status_code == 303
    center.clock.advance(3601)
    async with center.client("203.0.113.50") as client:
        assert (await center.call_me(client, "13912348888")).status_code == 303
    calls = await center.gateway.store.read("SELECT COUNT(*) FROM calls")
    assert int(calls[0][0]) == limit + 2  # the refused request placed no call


async def test_concurrent_sign_ups_cannot_all_pass_the_limit(center: Center) -> None:
    limit = center.gateway.settings.user_center.per_ip_hour
    async with center.client("203.0.113.60") as client:
        answers = await asyncio.gather(
            *(center.call_me(client, f"1391235{i:04d}") for i in range(3 * limit))
        )
    assert sorted(a.status_code for a in answers) == [303] * limit + [429] * (2 * limit)
    calls = await center.gateway.store.read("SELECT COUNT(*) FROM calls")
    assert int(calls[0][0]) == limit


async def test_sign_up_calls_are_limited_per_number(center: Center) -> None:
    limit = center.gateway.settings.user_center.per_number_day
    for i in range(limit):
        async with center.client(f"203.0.113.{i + 1}") as client:
            assert (await center.call_me(client)).status_code == 303
        center.clock.advance(3700)  # past the gateway's own per-number hour cap
    async with center.client("203.0.113.99") as client:
        refused = await center.call_me(client)
    assert refused.status_code == 429
    assert "呼叫过于频繁" in refused.text
    calls = await center.gateway.store.read("SELECT COUNT(*) FROM calls")
    assert int(calls[0][0]) == limit


async def test_wrong_codes_run_out(center: Center) -> None:
    async with center.client() as client:
        await center.call_me(client)
        code = await center.code_for()
        attempts = center.gateway.settings.verify.max_attempts
        for _ in range(attempts):
            answer = await center.confirm(client, wrong(code))
            assert answer.status_code == 400
            assert "验证码不正确" in answer.text
        answer = await center.confirm(client, code)  # right, but too late
        assert answer.status_code == 400
        assert "已过期或已失效" in answer.text
        assert (await client.get("/user/")).status_code == 303  # not signed in
    assert await get_web_user(center.gateway.store, kind="customer", login=MOBILE) is None


async def test_a_code_expires(center: Center) -> None:
    async with center.client() as client:
        await center.call_me(client)
        code = await center.code_for()
        center.clock.advance(center.gateway.settings.user_center.code_ttl_s + 1)
        answer = await client.get("/user/signup/confirm")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/user/signup?expired=1"
        form = await client.get("/user/signup")
        token = TOKEN.search(form.text)
        assert token is not None
        posted = await client.post(
            "/user/signup/confirm",
            data={"csrf_token": token.group(1), "code": code, "password": PASSWORD,
                  "password2": PASSWORD},
        )  # fmt: skip
        assert posted.status_code == 303
    assert await get_web_user(center.gateway.store, kind="customer", login=MOBILE) is None


async def test_a_refused_password_costs_no_attempt(center: Center) -> None:
    async with center.client() as client:
        await center.call_me(client)
        code = await center.code_for()
        for _ in range(center.gateway.settings.verify.max_attempts + 1):
            short = await center.confirm(client, code, "short")
            assert short.status_code == 400
            assert "至少 10 个字符" in short.text
        assert (await center.confirm(client, code)).status_code == 303


async def test_sign_up_forms_need_their_token(center: Center) -> None:
    async with center.client() as client:
        await client.get("/user/signup")
        answer = await client.post("/user/signup", data={"mobile": MOBILE})
        assert answer.status_code == 403
        cross = await client.post(
            "/user/signup",
            data={"mobile": MOBILE, "csrf_token": "x"},
            headers={"origin": "http://evil.example", "sec-fetch-site": "cross-site"},
        )
        assert cross.status_code == 403
    assert int((await center.gateway.store.read("SELECT COUNT(*) FROM calls"))[0][0]) == 0


async def test_a_malformed_number_is_refused_before_any_call(center: Center) -> None:
    async with center.client() as client:
        for bad in ("12345", "1391234567x", "+8613912345678" * 3, "０１３９"):
            answer = await center.call_me(client, bad)
            assert answer.status_code == 400
            assert "中国大陆手机号码" in answer.text
    assert int((await center.gateway.store.read("SELECT COUNT(*) FROM calls"))[0][0]) == 0
