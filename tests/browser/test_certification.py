"""企业认证 in the browser, on the real ``voiceotp serve``: a trial customer's Submit to
another number is refused (4053); the customer sends the certification form with a licence
file; an admin approves it in the console; the same Submit then goes through. Screenshots
of the user center's certification page and the console's list, in Chinese."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PASSWORD, Server, sign_in
from tests.web.licences import PNG
from voiceotp import Client
from voiceotp.errors import TrialRestricted
from voiceotp.gateway.settings import Settings
from voiceotp.store import make_store
from voiceotp.store.keys import KeyBox, new_apikey
from voiceotp.store.usercenter import open_trial_account
from voiceotp.web.passwords import hash_password

CUSTOMER, OTHER = "13600136000", "13600136999"
ACCOUNT = "V30000001"


async def _open_trial(data_dir: Path) -> str:
    settings = Settings.from_mapping({"dev_mode": True, "data_dir": data_dir})
    store = make_store(settings)
    await store.open()
    try:
        apikey = new_apikey()
        await open_trial_account(
            store, name=ACCOUNT, apikey_enc=KeyBox(settings.secret_key).seal(apikey),
            mobile=CUSTOMER, free_calls=5, login=CUSTOMER,
            password_hash=hash_password(PASSWORD), now=time.time(),
        )  # fmt: skip
        return apikey
    finally:
        await store.close()


@pytest.fixture(scope="module")
def trial_apikey(server: Server) -> str:
    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this one
        return thread.submit(asyncio.run, _open_trial(server.data_dir)).result()


def test_certification_approved_in_the_console_lifts_the_trial(
    page: Page,
    browser: Browser,
    server: Server,
    trial_apikey: str,
    screenshots: Path,
    tmp_path: Path,
) -> None:
    with Client(ACCOUNT, trial_apikey, base_url=server.endpoint) as api:
        with pytest.raises(TrialRestricted):
            api.send(OTHER, "1234")
        assert api.send(CUSTOMER, "1234").voiceid

    user = server.url.removesuffix("/console") + "/user"
    page.goto(f"{user}/signin")
    page.get_by_label("手机号码").fill(CUSTOMER)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="企业认证").first.click()
    expect(page.get_by_test_id("certification-state")).to_have_text("未申请")
    page.get_by_label("企业名称").fill("深圳市示例科技有限公司")
    page.get_by_label("统一社会信用代码").fill("91440300708461136T")
    page.get_by_label("联系人").fill("张三")
    page.get_by_label("联系电话").fill("0755-86013388")
    licence = tmp_path / "营业执照.png"
    licence.write_bytes(PNG)
    page.get_by_label("营业执照（JPEG、PNG 或 PDF）").set_input_files(licence)
    page.get_by_role("button", name="提交审核").click()
    expect(page.get_by_role("status")).to_have_text("申请已提交，等待运营方审核。")
    expect(page.get_by_test_id("certification-state")).to_have_text("待审核")
    page.screenshot(path=screenshots / "zh-user-certification.png", full_page=True)

    operator = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    console = operator.new_page()
    sign_in(console, server, "alice")
    console.get_by_role("link", name="企业认证").click()
    row = console.get_by_role("row").filter(has_text="91440300708461136T")
    expect(row).to_contain_text("深圳市示例科技有限公司")
    expect(row).to_contain_text(ACCOUNT)
    expect(row.get_by_role("link", name="营业执照.png")).to_be_visible()
    console.screenshot(path=screenshots / "zh-certifications-pending.png", full_page=True)
    row.get_by_role("button", name="通过").click()
    expect(console.get_by_role("status")).to_have_text("已通过：该账户现在可以呼叫任意号码。")
    operator.close()

    with Client(ACCOUNT, trial_apikey, base_url=server.endpoint) as api:
        assert api.send(OTHER, "1234").voiceid
    page.reload()
    expect(page.get_by_test_id("certification-state")).to_have_text("已通过")
