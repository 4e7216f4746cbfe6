"""Every page renders in both languages (a screenshot of each is saved), and the
dashboard refreshes itself (htmx, vendored)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, sign_in
from tests.browser.test_calls import place_call

HEADINGS = {
    "zh": {"dashboard": "概览", "accounts": "账户", "calls": "呼叫记录", "rules": "服务器规则",
           "audit": "审计日志", "signin": "登录", "operators": "操作员", "me": "我的账号",
           "certifications": "企业认证", "signups": "注册记录"},
    "en": {"dashboard": "Dashboard", "accounts": "Accounts", "calls": "Call records",
           "rules": "Server rules", "audit": "Audit log", "signin": "Sign in",
           "operators": "Operators", "me": "My account", "certifications": "Certifications",
           "signups": "Sign-ups"},
}  # fmt: skip
ACCOUNT = {"zh": "账户", "en": "Account"}
CALL = {"zh": "语音ID", "en": "Voice ID"}


@pytest.fixture(scope="module")
def voiceid(server: Server) -> str:
    return place_call(server, "13500135000")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders_in_both_languages(
    page: Page, server: Server, voiceid: str, screenshots: Path, lang: str
) -> None:
    page.goto(f"{server.url}/signin?lang={lang}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
    expect(page.get_by_role("heading", name=HEADINGS[lang]["signin"], exact=True)).to_be_visible()
    page.screenshot(path=screenshots / f"{lang}-signin.png", full_page=True)
    sign_in(page, server, "alice")
    if lang == "en":
        page.get_by_label("语言").select_option("en")
        page.get_by_role("button", name="OK").click()
    pages = {
        "dashboard": "/",
        "accounts": "/accounts",
        "account": f"/accounts/{server.key.account}",
        "calls": "/calls",
        "call": f"/calls/{voiceid}",
        "rules": "/rules",
        "audit": "/audit",
        "operators": "/operators",
        "certifications": "/certifications",
        "signups": "/signups",
        "me": "/me",  # last: the language is set back from here
    }
    for name, path in pages.items():
        page.goto(server.url + path)
        heading = (
            HEADINGS[lang].get(name)
            or {
                "account": f"{ACCOUNT[lang]} {server.key.account}",
                "call": f"{CALL[lang]} {voiceid}",
            }[name]
        )
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        page.screenshot(path=screenshots / f"{lang}-{name}.png", full_page=True)
    if lang == "en":  # back to the default for the other tests on this server
        page.get_by_label("Language").select_option("zh")
        page.get_by_role("button", name="OK").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("我的账号")


def test_the_dashboard_refreshes_itself(page: Page, server: Server, voiceid: str) -> None:
    sign_in(page, server, "sam")
    expect(page.get_by_test_id("accepted")).to_be_visible()
    with page.expect_response(
        lambda r: r.request.headers.get("hx-request") == "true" and r.status == 200,
        timeout=15_000,
    ):
        pass  # htmx polls every 5 s
    expect(page.get_by_test_id("accepted")).not_to_have_text("0")


def test_a_narrow_window_never_scrolls_the_page_sideways(
    page: Page, server: Server, voiceid: str, screenshots: Path
) -> None:
    """A phone-width window (390 px): the navigation wraps and wide tables scroll inside
    themselves; the page itself never gets wider than the window."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, "alice")
    for name, path in {"dashboard": "/", "account": f"/accounts/{server.key.account}",
                       "calls": "/calls", "call": f"/calls/{voiceid}"}.items():  # fmt: skip
        page.goto(server.url + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=screenshots / f"narrow-zh-{name}.png", full_page=True)
        assert overflow <= 0, f"{name}: the page is {overflow} px wider than the window"
