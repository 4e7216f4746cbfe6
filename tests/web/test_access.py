"""Access control over EVERY console route (enumerated from the router), as anonymous,
support and admin; CSRF on every POST."""

from __future__ import annotations

import contextlib

from starlette.routing import Mount, Route

from tests.web.conftest import Console
from voiceotp.store.web import list_audit
from voiceotp.web.console import page_routes
from voiceotp.web.console.core import ADMIN, SELF, SUPPORT

PARAMS = {
    "name": "V10000001",
    "voiceid": "1",
    "login": "alice",
    "cert_id": "1",
    "id": "1",
    "part": "0",
}
PUBLIC = {"/signin"}


def routes() -> list[tuple[str, str, str]]:
    """(method, path, role) of every page route."""
    found = []
    for route in page_routes():
        assert isinstance(route, Route)
        assert route.methods is not None
        path = route.path.format(**PARAMS)
        role = getattr(route.endpoint, "role", "public")
        assert role in (ADMIN, SUPPORT, SELF) or route.path in PUBLIC, route.path
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, f"/console{path}", role))
    return found


def test_the_console_mount_holds_only_the_pages_and_static() -> None:
    from voiceotp.web.console import console_routes

    redirect, mount = console_routes()  # /console -> /console/ (no page of its own)
    assert isinstance(redirect, Route)
    assert redirect.path == "/console"
    assert isinstance(mount, Mount)
    assert len(mount.routes) == len(page_routes()) + 1  # + static


async def test_anonymous_reaches_only_sign_in(console: Console) -> None:
    async with console.client() as client:
        for method, path, _ in routes():
            answer = await client.request(method, path, data={"x": "1"})
            if path == "/console/signin":
                assert answer.status_code in (200, 403), (method, path)  # POST: no pre-token
            elif method == "GET":
                assert answer.status_code == 303, path
                assert answer.headers["location"].startswith("/console/signin?next=")
            else:
                assert answer.status_code == 401, (method, path)
        assert (await client.get("/console/static/console.css")).status_code == 200


async def test_support_cannot_change_anything(console: Console) -> None:
    before = await console.gateway.admin.describe("V10000001")
    policy = await console.gateway.admin.server_policy()
    client, csrf = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        for method, path, role in routes():
            if method != "POST" or role != ADMIN:
                continue
            form = {
                "csrf_token": csrf, "units": "5", "op": "rotate", "state": "frozen",
                "reason": "x", "mobile": "13800138000", "kind": "deny_ip",
                "value": "203.0.113.9", "password": "correct horse battery", "balance": "9",
            }  # fmt: skip
            answer = await client.post(path, data=form)
            assert answer.status_code == 403, (path, answer.status_code)
        for method, path, role in routes():
            if method == "GET" and path != "/console/signin":
                answer = await client.get(path)
                allowed = (403,) if role == ADMIN else (200, 404)
                assert answer.status_code in allowed, (path, answer.status_code)
    assert await console.gateway.admin.describe("V10000001") == before
    assert await console.gateway.admin.server_policy() == policy
    assert len(await console.gateway.admin.list_accounts()) == 1
    # reads of call records are audited; nothing else was written
    actions = {e.action for e in await list_audit(console.gateway.store)}
    assert actions == {"session.sign_in", "calls.export"}


async def test_every_post_needs_the_csrf_token(console: Console) -> None:
    client, csrf = await console.signed_in("alice")
    async with contextlib.aclosing(client):
        for method, path, _ in routes():
            if method != "POST" or path == "/console/signin":
                continue
            answer = await client.post(path, data={"units": "5", "state": "frozen"})
            assert answer.status_code == 403, path
            answer = await client.post(
                path, data={"csrf_token": "forged", "units": "5", "state": "frozen"}
            )
            assert answer.status_code == 403, path
        # the right token from another site is refused too
        answer = await client.post(
            "/console/accounts/V10000001/state",
            data={"csrf_token": csrf, "state": "frozen"},
            headers={"origin": "http://evil.example", "sec-fetch-site": "cross-site"},
        )
        assert answer.status_code == 403
        assert (await console.gateway.admin.describe("V10000001"))["state"] == "active"
        answer = await client.post(
            "/console/accounts/V10000001/state", data={"csrf_token": csrf, "state": "frozen"}
        )
        assert answer.status_code == 303
    assert (await console.gateway.admin.describe("V10000001"))["state"] == "frozen"
    (entry,) = [e for e in await list_audit(console.gateway.store) if e.action != "session.sign_in"]
    assert (entry.actor, entry.action, entry.target, entry.ip) == (
        "alice", "account.state", "V10000001", "127.0.0.1",
    )  # fmt: skip
    assert '"active"' in entry.before
    assert '"frozen"' in entry.after


async def test_the_console_without_its_slash_redirects_relatively(console: Console) -> None:
    response = await console.client().get("/console", headers={"Host": "attacker.example"})
    assert response.status_code == 308
    assert response.headers["location"] == "/console/"
