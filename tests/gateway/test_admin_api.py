"""The JSON admin API: auth, accounts, policy, and that changes take effect at once."""

from __future__ import annotations

import re

import httpx2

from tests.gateway.harness import FIXTURE, VOICE, Harness, running
from voiceotp.gateway.settings import DEV_ADMIN_TOKEN, Settings
from voiceotp.protocol import Code, Method, parse_result
from voiceotp.store import Store

NOW = float(FIXTURE["now"])
API = "/admin/api"
BEARER = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}


def admin(harness: Harness) -> httpx2.AsyncClient:
    client = harness.client()
    client.headers.update(BEARER)
    return client


async def code_of(harness: Harness, account: str, apikey: str, mobile: str = "13800138000") -> int:
    form = {"account": account, "password": apikey, "mobile": mobile, "content": "1125"}
    response = await harness.client("198.51.100.7").post(
        VOICE, params={"method": "Submit"}, data=form
    )
    return parse_result(response.content, Method.SUBMIT).code


async def test_token_is_required(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        anonymous = await harness.client().get(API + "/accounts")
        assert anonymous.status_code == 401
        wrong = await harness.client().get(
            API + "/accounts", headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        assert (await admin(harness).get(API + "/accounts")).status_code == 200


async def test_account_lifecycle(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        api = admin(harness)
        created = (await api.post(API + "/accounts", json={"balance": 2})).json()
        name, key = created["account"], created["apikey"]
        assert re.fullmatch(r"V\d{8}", name)
        assert re.fullmatch(r"[0-9a-f]{32}", key)
        stored = await store.get_account(name)
        assert stored is not None
        assert key not in stored.apikey_enc  # encrypted at rest
        assert "apikey" not in (await api.get(f"{API}/accounts/{name}")).json()

        assert await code_of(harness, name, key) == Code.OK
        await api.patch(f"{API}/accounts/{name}", json={"state": "frozen"})
        assert await code_of(harness, name, key, "13800138001") == Code.ACCOUNT_FROZEN
        await api.patch(f"{API}/accounts/{name}", json={"state": "active"})
        assert await code_of(harness, name, key, "13800138001") == Code.OK
        assert await code_of(harness, name, key, "13800138002") == Code.BALANCE_LOW
        topped = await api.post(f"{API}/accounts/{name}/topup", json={"units": 5})
        assert topped.json() == {"balance": 5}

        rotated = (await api.post(f"{API}/accounts/{name}/rotate-key")).json()
        assert await code_of(harness, name, key, "13800138002") == Code.AUTH_FAILED
        assert await code_of(harness, name, rotated["apikey"], "13800138002") == Code.OK

        await api.patch(f"{API}/accounts/{name}", json={"allow_ips": ["10.0.0.0/8"]})
        assert await code_of(harness, name, rotated["apikey"], "13800138003") == Code.IP_NOT_ALLOWED
        await api.patch(f"{API}/accounts/{name}", json={"allow_ips": []})
        await api.put(f"{API}/accounts/{name}/blacklist/13800138003")
        assert (
            await code_of(harness, name, rotated["apikey"], "13800138003")
            == Code.MOBILE_BLACKLISTED
        )
        events = (await api.get(f"{API}/accounts/{name}/audit")).json()
        assert [e["kind"] for e in events][:2] == ["account_created", "state_changed"]
        assert await store.ledger_sum(stored.id) == await store.get_balance(stored.id)


async def test_server_policy(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        api = admin(harness)
        key = "0123456789abcdef0123456789abcdef"
        assert (await api.put(f"{API}/policy/deny_ip/198.51.100.0%2F24")).status_code == 200
        assert await code_of(harness, "V10000001", key) == Code.IP_DENIED
        await api.delete(f"{API}/policy/deny_ip/198.51.100.0%2F24")
        await api.put(f"{API}/policy/sensitive_word/1125")
        assert await code_of(harness, "V10000001", key) == Code.CONTENT_SENSITIVE
        policy = (await api.get(API + "/policy")).json()
        assert policy["sensitive_word"] == ["110119", "1125"]
        assert policy["deny_ip"] == ["192.0.2.66"]  # the /24 was removed again


async def test_bad_requests_are_4xx_never_500(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        api = admin(harness)
        cases = [
            (api.post(API + "/accounts", content=b"{not json"), 400),
            (api.post(API + "/accounts", json=[1, 2]), 400),
            (api.post(API + "/accounts", json={"account": "X1"}), 400),
            (api.post(API + "/accounts", json={"account": "V10000001"}), 400),
            (api.post(API + "/accounts", json={"balance": "many"}), 400),
            (api.get(API + "/accounts/V99999999"), 404),
            (api.patch(API + "/accounts/V10000001", json={"balance": 5}), 400),
            (api.patch(API + "/accounts/V10000001", json={"allow_ips": ["nope"]}), 400),
            (api.patch(API + "/accounts/V10000001", json={"state": "happy"}), 400),
            (api.patch(API + "/accounts/V99999999", json={"state": "frozen"}), 404),
            (api.post(API + "/accounts/V10000005/topup", json={"units": -1}), 400),
            (api.put(API + "/policy/nonsense/x"), 400),
            (api.put(API + "/accounts/V10000001/blacklist/123"), 400),
        ]
        for request, status in cases:
            response = await request
            assert response.status_code == status, response.text
            assert "error" in response.json()


async def test_openapi_document_lists_every_endpoint(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        doc = (await harness.client().get(API + "/openapi.json")).json()
        assert doc["openapi"].startswith("3.")
        assert "patch" in doc["paths"][API + "/accounts/{name}"]
        assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_an_accounts_abuse_allowance_is_set_over_the_api(
    store: Store, settings: Settings
) -> None:
    async with running(store, settings, now=NOW) as harness:
        api = admin(harness)
        url = f"{API}/accounts/V10000001"
        changed = await api.patch(url, json={"abuse_prefix_burst": 5000})
        assert changed.status_code == 200, changed.text
        assert changed.json()["abuse_prefix_burst"] == 5000
        assert changed.json()["abuse_distinct_numbers"] is None  # the server's
        account = await store.get_account("V10000001")
        assert account is not None
        assert account.abuse_prefix_burst == 5000
        assert (await api.patch(url, json={"abuse_prefix_burst": -1})).status_code == 400
        assert (await api.patch(url, json={"abuse_distinct_numbers": "x"})).status_code == 400
        back = await api.patch(url, json={"abuse_prefix_burst": None})
        assert back.json()["abuse_prefix_burst"] is None
        doc = (await api.get(API + "/openapi.json")).json()
        body = doc["paths"][API + "/accounts/{name}"]["patch"]["requestBody"]
        schema = body["content"]["application/json"]["schema"]["properties"]
        assert schema["abuse_prefix_burst"] == {
            "type": "integer",
            "minimum": 0,
            "maximum": 2**31 - 1,
        }
