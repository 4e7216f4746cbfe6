"""Sign-in, sign-out, lock-out, session expiry, CSRF and the support role, in chromium."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, Server, sign_in, start_server
from voiceotp.web.console import page_routes
from voiceotp.web.console.core import ADMIN


def test_sign_in_and_sign_out(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/accounts")
    expect(page).to_have_url(f"{server.url}/signin?next=/console/accounts")
    page.get_by_label("用户名").fill("alice")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(
        page.get_by_role("heading", name="账户", exact=True)
    ).to_be_visible()  # back where it started
    expect(page.get_by_text("当前用户 alice (admin)")).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()
    page.goto(f"{server.url}/")
    expect(
        page.get_by_role("heading", name="登录", exact=True)
    ).to_be_visible()  # the session is gone


def test_a_wrong_password_is_refused(page: Page, server: Server) -> None:
    sign_in(page, server, "alice", "not the password")
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")


def test_lock_out_after_repeated_failures(page: Page, tmp_path: Path) -> None:
    with start_server(tmp_path / "lockout") as fresh:  # its own server: the lock is per IP too
        for _ in range(4):
            sign_in(page, fresh, "alice", "wrong password")
            expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
        sign_in(page, fresh, "alice", "wrong password")
        expect(page.get_by_role("alert")).to_have_text("失败次数过多，请稍后再试。")
        sign_in(page, fresh, "alice")  # the right password no longer opens it
        expect(page.get_by_role("alert")).to_have_text("失败次数过多，请稍后再试。")
        sign_in(page, fresh, "sam")  # nor another login from the same address
        expect(page.get_by_role("alert")).to_have_text("失败次数过多，请稍后再试。")
        locked = fresh.sql("SELECT actor, ip FROM web_audit WHERE action = 'session.locked'")
        assert ("alice", "127.0.0.1") in locked


@pytest.mark.parametrize(
    "aging",
    [
        "UPDATE web_sessions SET seen_at = seen_at - 31 * 60",  # idle for 31 minutes
        "UPDATE web_sessions SET created_at = created_at - 13 * 3600",  # 13 hours old
    ],
)
def test_session_expiry(page: Page, server: Server, aging: str) -> None:
    sign_in(page, server, "alice")
    expect(page.get_by_role("heading", name="概览", exact=True)).to_be_visible()
    server.sql(aging)
    page.reload()
    expect(page.get_by_role("heading", name="登录", exact=True)).to_be_visible()


def test_support_cannot_change_anything(page: Page, server: Server) -> None:
    sign_in(page, server, "sam")
    page.goto(f"{server.url}/accounts/{server.key.account}")
    expect(
        page.get_by_role("heading", name=f"账户 {server.key.account}", exact=True)
    ).to_be_visible()
    for name in ("充值", "冻结", "保存", "保存防欺诈设置", "添加", "更换 APIKEY"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    assert csrf
    before = server.sql("SELECT balance, state, callback_url FROM accounts")
    tried = 0
    for route in page_routes():
        if "POST" not in (route.methods or ()) or getattr(route.endpoint, "role", "") != ADMIN:
            continue
        names = {"name": server.key.account, "login": "alice"}
        path = route.path.format_map(defaultdict(lambda: "1", names))  # ids: 1
        form = {
            "csrf_token": csrf, "units": "5", "op": "rotate", "state": "frozen", "reason": "x",
            "mobile": "13800138000", "kind": "deny_ip", "value": "203.0.113.9",
            "password": PASSWORD, "balance": "9", "callback_url": "http://example.com/x",
        }  # fmt: skip
        answer = page.request.post(f"{server.url}{path}", form=form, max_redirects=0)
        assert answer.status == 403, (path, answer.status)
        tried += 1
    assert tried >= 8  # create, balance, state, settings, blacklist, apikey, rules, operators
    assert server.sql("SELECT balance, state, callback_url FROM accounts") == before
    assert server.sql("SELECT COUNT(*) FROM policy_entries") == [(0,)]


EVIL_FORM = """<!doctype html><form id="f" method="post" action="{target}">
<input name="state" value="frozen"><input name="csrf_token" value="guessed"></form>
<script>document.getElementById("f").submit()</script>"""


@contextlib.contextmanager
def evil_site(target: str) -> Iterator[str]:
    """Another site (localhost vs 127.0.0.1) whose page posts a form to the console."""
    body = EVIL_FORM.format(target=target).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()


def test_a_forged_cross_site_post_is_refused(page: Page, server: Server) -> None:
    sign_in(page, server, "alice")
    expect(page.get_by_role("heading", name="概览", exact=True)).to_be_visible()
    target = f"{server.url}/accounts/{server.key.account}/state"
    with evil_site(target) as evil:
        with page.expect_response(target) as answer:
            page.goto(evil)
        assert answer.value.status in (401, 403)
    assert server.sql("SELECT state FROM accounts") == [("active",)]
