"""Accounts in the console act on the running gateway: top-up seen by GetNum, freeze
answered 4050 by Submit, and stored markup rendered inert everywhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, sign_in
from voiceotp.client import Client
from voiceotp.errors import AccountFrozen

XSS = "<script>window.__xss = 1</script><img src=x onerror='window.__xss = 2'>"
SHORT_XSS = "<script>window.__xss=4</script>"  # a ledger reason holds 32 characters


def client(server: Server) -> Client:
    return Client(server.key.account, server.key.apikey, base_url=server.endpoint)


def open_account(page: Page, server: Server) -> None:
    sign_in(page, server, "alice")
    page.get_by_role("link", name="账户", exact=True).click()
    page.get_by_role("link", name=server.key.account).click()
    expect(page.get_by_role("heading", name=f"账户 {server.key.account}")).to_be_visible()


def test_a_top_up_in_the_console_is_seen_by_get_num(page: Page, server: Server) -> None:
    with client(server) as api:
        start = api.balance()
        open_account(page, server)
        page.get_by_label("数量").fill("25")
        page.get_by_label("原因").fill("invoice 2026-12")
        page.get_by_role("button", name="充值").click()
        expect(page.get_by_role("status")).to_have_text("已保存。")
        expect(page.get_by_test_id("balance")).to_have_text(str(start + 25))
        expect(page.get_by_role("cell", name="invoice 2026-12")).to_be_visible()  # the ledger
        assert api.balance() == start + 25
        page.get_by_label("数量").fill("5")
        page.get_by_label("原因").fill("correction")
        page.get_by_role("button", name="扣减").click()
        expect(page.get_by_test_id("balance")).to_have_text(str(start + 20))
        assert api.balance() == start + 20


def test_stored_markup_renders_inert_everywhere(page: Page, server: Server) -> None:
    open_account(page, server)
    page.get_by_label("数量").fill("1")
    page.get_by_label("原因").fill(SHORT_XSS)
    page.get_by_role("button", name="充值").click()
    expect(page.get_by_role("status")).to_have_text("已保存。")
    page.get_by_label("回调地址").fill("https://example.com/x?<script>window.__xss=3</script>")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("已保存。")
    listed = page.get_by_role("region", name="黑名单")
    listed.get_by_role("textbox", name="手机号").fill("13900000001")
    listed.get_by_role("textbox", name="备注").fill(XSS)  # a blacklist note
    listed.get_by_role("button", name="添加").click()
    expect(page.get_by_test_id("note")).to_have_text(XSS)
    page.get_by_role("link", name="服务器规则").click()
    words = page.get_by_role("region", name="敏感词")
    words.get_by_role("textbox", name="敏感词").fill(XSS)
    words.get_by_role("button", name="添加").click()
    expect(page.get_by_text(XSS)).to_be_visible()  # shown as text
    for path in ("/", "/accounts", f"/accounts/{server.key.account}", "/rules", "/audit"):
        page.goto(server.url + path)
        expect(page.locator("main")).to_be_visible()
        assert page.evaluate("window.__xss") is None, path
    page.goto(f"{server.url}/accounts/{server.key.account}")
    expect(page.get_by_role("cell", name=SHORT_XSS)).to_be_visible()
    assert page.locator("main script").count() == 0


def test_freeze_in_the_console_makes_submit_answer_4050(page: Page, server: Server) -> None:
    open_account(page, server)
    page.get_by_role("button", name="冻结").click()
    expect(page.get_by_test_id("state")).to_have_text("已冻结")
    with client(server) as api, pytest.raises(AccountFrozen) as refused:
        api.send("13900139000", "1234")
    assert refused.value.code == 4050
    page.get_by_role("button", name="解冻").click()
    expect(page.get_by_test_id("state")).to_have_text("正常")
    rows = server.sql("SELECT actor, action, ip FROM web_audit WHERE action = 'account.state'")
    assert rows == [("alice", "account.state", "127.0.0.1")] * 2
