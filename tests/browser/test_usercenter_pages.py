"""The user center's own pages in a real browser against the real ``voiceotp serve``:
each page in both languages (screenshots saved), the APIKEY revealed after the password,
the settings saved, and the test push received — signed — by a receiver on this machine
(``--dev`` lets pushes reach loopback)."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, Server
from tests.browser.test_calls import place_call
from voiceotp.delivery.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from voiceotp.gateway.settings import Settings
from voiceotp.store import make_store
from voiceotp.store.web import create_web_user
from voiceotp.web.passwords import hash_password

CUSTOMER = "13600136000"
HEADINGS = {
    "zh": {"overview": "产品总览", "records": "发送记录", "settings": "设置", "me": "我的账号",
           "certification": "企业认证"},
    "en": {"overview": "Overview", "records": "Send records", "settings": "Settings",
           "me": "My account", "certification": "Enterprise certification"},
}  # fmt: skip
CALL = {"zh": "语音ID", "en": "Voice ID"}


async def _add_customer(data_dir: Path, account: str) -> None:
    store = make_store(Settings.from_mapping({"dev_mode": True, "data_dir": data_dir}))
    await store.open()
    try:
        record = await store.get_account(account)
        assert record is not None
        await create_web_user(
            store, kind="customer", login=CUSTOMER, password_hash=hash_password(PASSWORD),
            role="owner", now=time.time(), account_id=record.id,
        )  # fmt: skip
    finally:
        await store.close()


@pytest.fixture(scope="module")
def voiceid(server: Server) -> str:
    """A customer of the server's account, and one finished call of that account."""
    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this one
        thread.submit(asyncio.run, _add_customer(server.data_dir, server.key.account)).result()
    return place_call(server, "13500135001")


def sign_in_customer(page: Page, server: Server) -> None:
    page.goto(f"{server.root}/user/signin")
    page.get_by_label("手机号码").fill(CUSTOMER)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("产品总览")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders_in_both_languages(
    page: Page, server: Server, voiceid: str, screenshots: Path, lang: str
) -> None:
    sign_in_customer(page, server)
    if lang == "en":
        page.get_by_label("语言").select_option("en")
        page.get_by_role("button", name="OK").click()
    pages = {"overview": "/", "records": "/records", "record": f"/records/{voiceid}",
             "settings": "/settings", "certification": "/certification", "me": "/me"}  # fmt: skip
    for name, path in pages.items():
        page.goto(f"{server.root}/user{path}")
        heading = HEADINGS[lang].get(name) or f"{CALL[lang]} {voiceid}"
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        page.screenshot(path=screenshots / f"user-{lang}-{name}.png", full_page=True)
    if lang == "en":  # back to the default for the other tests on this server
        page.get_by_label("Language").select_option("zh")
        page.get_by_role("button", name="OK").click()


def test_the_apikey_is_revealed_after_the_password(
    page: Page, server: Server, voiceid: str
) -> None:
    sign_in_customer(page, server)
    expect(page.get_by_test_id("apikey")).to_have_count(0)
    page.get_by_label("您的密码（确认身份）").fill(PASSWORD)
    page.get_by_role("button", name="显示 APIKEY").click()
    expect(page.get_by_test_id("apikey")).to_have_text(server.key.apikey)
    expect(page.get_by_test_id("example-curl")).to_contain_text(server.key.apikey)
    page.get_by_role("link", name="发送记录").click()
    row = page.get_by_role("row").filter(has_text=voiceid)
    expect(row).to_contain_text("135****5001")
    expect(row).to_contain_text("ANSWERED")


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    """A callback endpoint on 127.0.0.1 answering 204, and what it received."""
    received: list[tuple[bytes, dict[str, str]]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((body, dict(self.headers)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_settings_and_a_signed_test_push(
    page: Page,
    server: Server,
    voiceid: str,
    receiver: tuple[str, list[tuple[bytes, dict[str, str]]]],
) -> None:
    url, received = receiver
    sign_in_customer(page, server)
    page.get_by_role("link", name="设置").click()
    expect(page.get_by_test_id("your-ip")).to_have_text("127.0.0.1")
    page.get_by_label("回调地址").fill(url)
    page.get_by_label("余额预警").fill("3")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存。")
    page.get_by_role("button", name="发送测试推送").click()
    expect(page.get_by_test_id("push-result")).to_contain_text("HTTP 204")
    ((body, headers),) = received
    assert json.loads(body)["type"] == "test"
    timestamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert verify_signature(body, timestamp, signature, server.key.apikey)
    page.get_by_role("link", name="产品总览").click()
    expect(page.get_by_test_id("low-balance-alert")).to_have_text("< 3")


def test_a_narrow_window_never_scrolls_the_page_sideways(
    page: Page, server: Server, voiceid: str, screenshots: Path
) -> None:
    """A phone-width window (390 px): the code examples and tables scroll inside
    themselves; the page itself never gets wider than the window."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_customer(page, server)
    for name in ("overview", "records", "settings", "certification", "me"):
        page.goto(f"{server.root}/user/{'' if name == 'overview' else name}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=screenshots / f"user-narrow-zh-{name}.png", full_page=True)
        assert overflow <= 0, f"{name}: the page is {overflow} px wider than the window"
