"""Access control over EVERY user-center route (enumerated from the router): anonymous,
customer A on customer B's things (IDOR), a customer session on every console route, an
operator session on every user-center route, and CSRF on every POST."""

from __future__ import annotations

import contextlib
from collections import defaultdict

import httpx2
from starlette.routing import Mount, Route

from tests.web.conftest import CUSTOMER_A, CUSTOMER_B, PASSWORD, Customer, UserCenter
from tests.web.test_access import routes as console_routes
from voiceotp.store.web import list_audit
from voiceotp.web.usercenter import PUBLIC, page_routes
from voiceotp.web.usercenter.core import OWNER, SELF

BASE = "/user"


def routes(**params: str) -> list[tuple[str, str, str]]:
    """(method, path, role) of every page route; path parameters from ``params`` (any
    other one: "1"), the sign-out last (it ends the session)."""
    values: defaultdict[str, str] = defaultdict(lambda: "1", params)
    found = []
    for route in page_routes():
        assert isinstance(route, Route)
        assert route.methods is not None
        role = getattr(route.endpoint, "role", "public")
        assert role in (OWNER, SELF) or route.path in PUBLIC, route.path
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, BASE + route.path.format_map(values), role))
    return sorted(found, key=lambda r: r[1] == f"{BASE}/signout")


def public(path: str) -> bool:
    return path.removeprefix(BASE) in PUBLIC


def test_the_user_center_mount_holds_only_the_pages_and_static() -> None:
    from voiceotp.web.usercenter import user_center_routes

    redirect, mount = user_center_routes()
    assert isinstance(redirect, Route)
    assert redirect.path == BASE
    assert isinstance(mount, Mount)
    assert len(mount.routes) == len(page_routes()) + 1  # + static


def _signed_out(method: str, path: str, answer: httpx2.Response) -> bool:
    if method == "GET":
        location = answer.headers.get("location", "")
        return answer.status_code == 303 and location.startswith(f"{BASE}/signin?next=")
    return answer.status_code == 401


async def test_anonymous_reaches_only_the_public_pages(user_center: UserCenter) -> None:
    async with user_center.client() as client:
        for method, path, _ in routes():
            answer = await client.request(method, path, data={"x": "1"})
            assert _signed_out(method, path, answer) != public(path), (method, path)
        assert (await client.get(f"{BASE}/static/console.css")).status_code == 200


async def _calls(user_center: UserCenter, who: Customer, count: int) -> list[str]:
    return [
        str((await user_center.submit(who.account, who.apikey, who.login))["voiceid"])
        for _ in range(count)
    ]


async def test_customer_a_reaches_nothing_of_b(user_center: UserCenter) -> None:
    a, b, admin = CUSTOMER_A, CUSTOMER_B, user_center.gateway.admin
    await _calls(user_center, a, 1)
    (b_call,) = await _calls(user_center, b, 1)
    await admin.configure(
        b.account, callback_url="https://b-secret.example/hook", allow_ips=["198.51.100.7"],
        low_balance_alert=77,
    )  # fmt: skip
    b_before = await admin.describe(b.account)
    b_key = (await admin.account(b.account)).apikey_enc
    secrets = (b.account, b.login, "139****0002", b_call, "b-secret", "198.51.100.7", b.apikey)
    probe = {"account": b.account, "name": b.account, "account_id": "2", "voiceid": b_call}
    client, csrf = await user_center.customer(a)
    async with contextlib.aclosing(client):
        for method, path, _ in routes(voiceid=b_call, name=b.account):
            if method != "GET":
                continue
            answer = await client.get(path, params=probe)
            if path == f"{BASE}/records/{b_call}":
                assert answer.status_code == 404
            shown = answer.text.replace(f'value="{path}"', "")  # the language form's next
            for secret in secrets:
                assert secret not in shown, (path, secret)
        exported = await client.get(f"{BASE}/records.csv", params={"mobile": b.login})
        assert all(s not in exported.text for s in secrets)
        form = {
            "csrf_token": csrf, "password": PASSWORD, "op": "rotate", "grace_h": "1",
            "callback_url": "https://a.example/hook", "allow_ips": "203.0.113.1",
            "low_balance_alert": "3", **probe,
        }  # fmt: skip
        for method, path, _ in routes(voiceid=b_call, name=b.account):
            if method == "POST" and not public(path):
                answer = await client.post(path, data=form)
                assert all(s not in answer.text for s in secrets), path
    assert await admin.describe(b.account) == b_before
    assert (await admin.account(b.account)).apikey_enc == b_key
    assert (await admin.describe(a.account))["callback_url"] == "https://a.example/hook"
    entries = await list_audit(user_center.gateway.store)
    assert b.account not in {e.target for e in entries}


def _token(client: httpx2.AsyncClient, cookie: str) -> str:
    token = client.cookies.get(cookie)
    assert token
    return str(token)


async def test_a_customer_session_cannot_reach_the_console(user_center: UserCenter) -> None:
    client, _ = await user_center.customer(CUSTOMER_A)
    token = _token(client, "voiceotp_user")
    await client.aclose()
    async with user_center.client() as anonymous:
        for method, path, _ in console_routes():
            if path == "/console/signin":
                continue
            for cookie in ("voiceotp_console", "voiceotp_user"):
                answer = await anonymous.request(
                    method, path, data={"x": "1"}, headers={"cookie": f"{cookie}={token}"}
                )
                if method == "GET":
                    assert answer.status_code == 303, (path, cookie)
                    assert answer.headers["location"].startswith("/console/signin?next=")
                else:
                    assert answer.status_code == 401, (method, path, cookie)


async def test_an_operator_session_is_not_a_customer_session(user_center: UserCenter) -> None:
    client, _ = await user_center.signed_in("olga")
    token = _token(client, "voiceotp_console")
    await client.aclose()
    async with user_center.client() as anonymous:
        for method, path, _ in routes():
            if public(path):
                continue
            for cookie in ("voiceotp_user", "voiceotp_console"):
                answer = await anonymous.request(
                    method, path, data={"x": "1"}, headers={"cookie": f"{cookie}={token}"}
                )
                assert _signed_out(method, path, answer), (method, path, cookie)


async def test_every_post_needs_the_csrf_token(user_center: UserCenter) -> None:
    a, admin = CUSTOMER_A, user_center.gateway.admin
    before, key = await admin.describe(a.account), (await admin.account(a.account)).apikey_enc
    client, csrf = await user_center.customer(a)
    form = {
        "password": PASSWORD, "op": "rotate", "callback_url": "https://a.example/hook",
        "current_password": PASSWORD, "new_password": "another password", "language": "en",
    }  # fmt: skip
    async with contextlib.aclosing(client):
        for method, path, _ in routes():
            if method != "POST" or path == f"{BASE}/signup/confirm":
                continue  # confirm: no sign-up in progress, it answers before reading a form
            assert (await client.post(path, data=form)).status_code == 403, path
            forged = {**form, "csrf_token": "forged"}
            assert (await client.post(path, data=forged)).status_code == 403, path
        # the right token from another site is refused too
        answer = await client.post(
            f"{BASE}/settings",
            data={**form, "csrf_token": csrf},
            headers={"origin": "http://evil.example", "sec-fetch-site": "cross-site"},
        )
        assert answer.status_code == 403
        assert (await client.get(f"{BASE}/")).status_code == 200  # still signed in
    assert await admin.describe(a.account) == before
    assert (await admin.account(a.account)).apikey_enc == key
    actions = {e.action for e in await list_audit(user_center.gateway.store)}
    assert actions <= {"session.sign_in"}


async def test_the_user_center_without_its_slash_redirects_relatively(
    user_center: UserCenter,
) -> None:
    response = await user_center.client().get(BASE, headers={"Host": "attacker.example"})
    assert response.status_code == 308
    assert response.headers["location"] == f"{BASE}/"


def test_paths_are_enumerated_with_every_parameter_filled() -> None:
    assert all("{" not in path for _, path, _ in routes())
    assert routes()[-1][1] == f"{BASE}/signout"
