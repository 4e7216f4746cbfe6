"""The admin API refuses what the stores cannot hold (400, nothing written), and anything
unexpected is a JSON 500 with an error id, never a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx2
import pytest
import sqlalchemy
from starlette.applications import Starlette
from starlette.requests import Request

from tests.gateway.harness import FIXTURE, Harness, running
from tests.gateway.test_admin_api import API, admin
from voiceotp.gateway.admin import Admin
from voiceotp.gateway.admincheck import INT32_MAX, INT_RANGES, MAX_BALANCE, MAX_REASON, MAX_WORD
from voiceotp.gateway.api.admin import Endpoint, _route
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store, schema
from voiceotp.store.records import BALANCE_LIMIT
from voiceotp.store.rows import Tx, adjust_in

NOW = float(FIXTURE["now"])
HUGE = 9223372036854775807  # int64's largest: what the QA audit sent


async def new_account(api: httpx2.AsyncClient, balance: int = 0) -> str:
    created = await api.post(API + "/accounts", json={"balance": balance})
    assert created.status_code == 200, created.text
    name: str = created.json()["account"]
    return name


async def assert_refused(response: httpx2.Response, words: str) -> None:
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]


async def test_top_ups_stay_within_the_maximum_balance(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        api = admin(harness)
        name = await new_account(api)
        topup = f"{API}/accounts/{name}/topup"
        for units in (HUGE, -HUGE, 10**20, MAX_BALANCE + 1, -(MAX_BALANCE + 1)):
            await assert_refused(await api.post(topup, json={"units": units}), "units must be")
        assert (await api.post(topup, json={"units": MAX_BALANCE})).json() == {
            "balance": MAX_BALANCE
        }
        await assert_refused(await api.post(topup, json={"units": 1}), "above")
        assert (await api.post(topup, json={"units": -1000})).json() == {
            "balance": MAX_BALANCE - 1000
        }
        assert await harness.store.consistency_problems() == []


async def test_opening_balance_and_settings_are_bounded(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        api = admin(harness)
        for balance in (MAX_BALANCE + 1, 10**21, HUGE + 1):
            response = await api.post(API + "/accounts", json={"balance": balance})
            await assert_refused(response, "balance must be between 0 and")
        name = await new_account(api, MAX_BALANCE)
        account = f"{API}/accounts/{name}"
        for key in ("rate_per_s", "cap_minute", "cap_hour", "cap_day"):
            for value in (3_000_000_000, INT32_MAX + 1, 10**20, -1):
                await assert_refused(await api.patch(account, json={key: value}), key)
            patched = await api.patch(account, json={key: INT32_MAX})  # fits an int32 column
            assert patched.status_code == 200, patched.text
            assert patched.json()[key] == INT32_MAX
        assert await harness.store.consistency_problems() == []


async def test_text_with_control_characters_is_refused(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        api = admin(harness)
        name = await new_account(api, 5)
        account = f"{API}/accounts/{name}"
        for url in ("http://a.example/\x00", "https://a.example/\n", "http://\ud800.example/"):
            body = json.dumps({"callback_url": url})  # ASCII escapes carry the lone surrogate
            response = await api.patch(account, content=body.encode())
            await assert_refused(response, "control characters")
        await assert_refused(
            await api.patch(account, json={"callback_url": "http://a.example/" + "x" * 3000}),
            "at most",
        )
        for word in ("bad%00word", "tab%09word", "%20"):
            await assert_refused(await api.put(f"{API}/policy/sensitive_word/{word}"), "word")
        await assert_refused(await api.put(f"{API}/policy/sensitive_word/{'w' * 129}"), "word")
        for path in ("V1000000%00", "V1000000%0A", "V" + "1" * 16, "V1000000%E2%80%AE"):
            await assert_refused(await api.get(f"{API}/accounts/{path}"), "APIID")
        assert (await api.get(f"{API}/accounts/nobody")).status_code == 404
        topup = f"{account}/topup"
        await assert_refused(await api.post(topup, json={"units": 1, "reason": "a\x00"}), "reason")
        await assert_refused(await api.post(topup, json={"units": 1, "reason": "r" * 33}), "reason")
        await assert_refused(await api.post(topup, json={"units": 1, "reason": 7}), "reason")
        await assert_refused(await api.post(API + "/accounts", json={"account": 123}), "APIID")
        assert (await api.get(API + "/policy")).json()["sensitive_word"] == ["110119"]
        assert (await api.get(account)).json()["callback_url"] == ""


async def test_settings_are_checked_before_the_store(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        api = admin(harness)
        name = await new_account(api)
        account = f"{API}/accounts/{name}"
        cases: list[tuple[dict[str, Any], str]] = [
            ({}, "nothing to change"),
            ({"name": "V10000002"}, "not configurable: name"),
            ({"allow_ips": [f"10.0.{i // 256}.{i % 256}" for i in range(300)]}, "at most"),
            ({"allow_ips": [5]}, "allow_ips"),
            ({"allow_ips": "10.0.0.0/8"}, "allow_ips"),
            ({"require_dynamic": 1}, "require_dynamic"),
            ({"rate_per_s": 1.5}, "rate_per_s"),
        ]
        for body, words in cases:
            await assert_refused(await api.patch(account, json=body), words)
        ok = await api.patch(account, json={"allow_ips": ["10.0.0.0/8"], "cap_day": None})
        assert ok.status_code == 200, ok.text


async def test_the_store_refuses_balances_it_cannot_hold(store: Store, settings: Settings) -> None:
    """The guard below the admin: no caller can overflow a balance or the ledger."""
    await store.open()
    try:
        account = await store.create_account(name="V30000001", apikey_enc="x", now=NOW)
        for delta in (HUGE, -HUGE, 2**64, MAX_BALANCE + 1):
            with pytest.raises(Exception, match="at most"):
                await store.adjust_balance(account.id, delta, "topup", NOW)
        assert await store.adjust_balance(account.id, MAX_BALANCE, "topup", NOW) == MAX_BALANCE
        with pytest.raises(Exception, match="above"):
            await store.adjust_balance(account.id, 1, "topup", NOW)
        assert await store.get_balance(account.id) == MAX_BALANCE
        assert await store.consistency_problems() == []
    finally:
        await store.close()


async def test_refunds_may_pass_the_maximum_but_never_the_limit(
    store: Store, settings: Settings
) -> None:
    """A top-up to the maximum while a unit is held must not make its refund fail; the
    schema's CHECK still holds every path below BALANCE_LIMIT."""
    await store.open()
    try:
        account = await store.create_account(name="V30000002", apikey_enc="x", now=NOW, balance=1)

        async def hold(tx: Tx) -> int:
            return await adjust_in(tx, account.id, -1, "adjust", NOW)

        async def refund(tx: Tx) -> int:
            return await adjust_in(tx, account.id, 1, "refund", NOW)

        async def raw_write(tx: Tx) -> None:
            await tx.execute("UPDATE accounts SET balance = $1", BALANCE_LIMIT + 1)

        assert await store.transact(hold) == 0
        assert await store.adjust_balance(account.id, MAX_BALANCE, "topup", NOW) == MAX_BALANCE
        assert await store.transact(refund) == MAX_BALANCE + 1
        assert await store.consistency_problems() == []
        with pytest.raises(Exception, match="balance_within_limit"):
            await store.transact(raw_write)
        assert await store.get_balance(account.id) == MAX_BALANCE + 1
    finally:
        await store.close()


async def boom(admin: Admin, request: Request, body: dict[str, Any]) -> Any:
    raise RuntimeError("secret detail")


async def test_unexpected_errors_are_a_json_500_with_an_error_id(
    store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(store, settings, now=NOW) as harness:
        app = broken_app(harness)
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as client:
            with caplog.at_level(logging.ERROR, logger="voiceotp.gateway.api.admin"):
                response = await client.get(
                    API + "/boom",
                    headers={"Authorization": admin(harness).headers["authorization"]},
                )
        assert response.status_code == 500
        error = response.json()["error"]
        assert "secret detail" not in response.text
        assert "Traceback" not in response.text
        error_id = error.split("id ")[1].split(")")[0]
        logged = [r for r in caplog.records if error_id in r.getMessage()]
        assert logged
        assert logged[0].exc_info is not None


def broken_app(harness: Harness) -> Starlette:
    app = Starlette(routes=[_route(Endpoint("GET", "/boom", boom, "always fails"))])
    app.state.gateway = harness.gateway
    return app


async def test_openapi_states_the_integer_bounds(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        doc = (await harness.client().get(API + "/openapi.json")).json()
        patch = doc["paths"][API + "/accounts/{name}"]["patch"]
        props = patch["requestBody"]["content"]["application/json"]["schema"]["properties"]
        assert props["rate_per_s"]["maximum"] == INT_RANGES["rate_per_s"][1] == INT32_MAX
        assert "500" in patch["responses"]


def test_the_bounds_fit_the_columns() -> None:
    """admincheck states the column limits once; this catches a schema change it missed."""
    assert isinstance(schema.ledger.c.reason.type, sqlalchemy.String)
    assert schema.ledger.c.reason.type.length == MAX_REASON
    assert isinstance(schema.policy_entries.c.value.type, sqlalchemy.String)
    assert schema.policy_entries.c.value.type.length == MAX_WORD
    for key in ("rate_per_s", "cap_minute", "cap_hour", "cap_day"):
        column_type = schema.accounts.c[key].type
        int64 = isinstance(column_type, sqlalchemy.BigInteger)
        assert INT_RANGES[key][1] <= (2**63 - 1 if int64 else INT32_MAX)
    assert INT_RANGES["balance"][1] + INT_RANGES["units"][1] < BALANCE_LIMIT < 2**53
