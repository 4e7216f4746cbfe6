"""The user center in a real browser against the real ``voiceotp serve``: the whole 免费体验
sign-up, the code read back from what the simulated carrier spoke (its recording of the
call), then the trial account's Submits."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Server, sign_in
from tests.browser.heard import heard_code
from tests.web.licences import pdf
from voiceotp import Client
from voiceotp.errors import TrialRestricted

MOBILE, OTHER = "13912345678", "13912340000"
PASSWORD = "a long enough secret"


def wait_until(what: str, ready: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling the server's files, not waiting on the page


def spoken_to(server: Server, mobile: str) -> str:
    """The code of the number's latest sign-up call, as its callee heard it."""
    rows = server.sql("SELECT voiceid FROM signups WHERE mobile = ? ORDER BY id DESC", mobile)
    voiceid = str(rows[0][0])
    recording = server.data_dir / "calls" / f"{voiceid}.wav"

    def ended() -> bool:
        state = server.sql("SELECT state FROM calls WHERE voiceid = ?", int(voiceid))
        return recording.exists() and state[0][0] not in ("queued", "dialing")

    wait_until("the sign-up call", ended)
    return heard_code(recording, server.data_dir / "clips", server.data_dir / "cache")


def sign_up(page: Page, server: Server, mobile: str = MOBILE) -> None:
    page.goto(f"{server.root}/user/signin")
    page.get_by_role("link", name="免费体验：开通体验账户").click()
    page.get_by_label("手机号码").fill(mobile)
    page.get_by_role("button", name="获取语音验证码").click()
    expect(page.get_by_role("status")).to_contain_text(mobile[:3] + "****" + mobile[-4:])
    page.get_by_label("验证码", exact=True).fill(spoken_to(server, mobile))
    page.get_by_label("新密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="开通体验账户").click()
    expect(page.get_by_role("status")).to_contain_text("欢迎")


def test_sign_up_trial_certification_and_approval_end_to_end(
    page: Page, browser: Browser, server: Server, screenshots: Path, tmp_path: Path
) -> None:
    """Sign up with the heard code; the trial account calls its number (2) and no other
    (4053); the customer files the certification; an admin approves it in the console;
    the same Submit then succeeds."""
    sign_up(page, server)
    expect(page.get_by_test_id("trial")).to_have_text("体验账户")
    account = page.get_by_test_id("apiid").inner_text()
    page.screenshot(path=str(screenshots / "user-zh-overview-trial.png"), full_page=True)
    page.get_by_label("您的密码（确认身份）").fill(PASSWORD)
    page.get_by_role("button", name="显示 APIKEY").click()
    apikey = page.get_by_test_id("apikey").inner_text()
    with Client(account, apikey, base_url=server.endpoint) as api:
        assert api.send(MOBILE, "4321").voiceid
        with pytest.raises(TrialRestricted) as refused:
            api.send(OTHER, "4321")
        assert refused.value.code == 4053

    page.get_by_role("link", name="企业认证").first.click()
    page.get_by_label("企业名称").fill("杭州示例网络有限公司")
    page.get_by_label("统一社会信用代码").fill("91440300708461136T")
    page.get_by_label("联系人").fill("李四")
    page.get_by_label("联系电话").fill("0571-88888888")
    licence = tmp_path / "licence.pdf"
    licence.write_bytes(pdf())
    page.get_by_label("营业执照（JPEG、PNG 或 PDF）").set_input_files(licence)
    page.get_by_role("button", name="提交审核").click()
    expect(page.get_by_test_id("certification-state")).to_have_text("待审核")
    page.screenshot(path=screenshots / "user-zh-certification.png", full_page=True)

    operator = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    console = operator.new_page()
    sign_in(console, server, "alice")
    console.get_by_role("link", name="企业认证").click()
    row = console.get_by_role("row").filter(has_text=account)
    expect(row).to_contain_text("杭州示例网络有限公司")
    console.screenshot(path=screenshots / "zh-certifications-pending.png", full_page=True)
    row.get_by_role("button", name="通过").click()
    expect(console.get_by_role("status")).to_contain_text("已通过")
    operator.close()

    with Client(account, apikey, base_url=server.endpoint) as api:
        assert api.send(OTHER, "4321").voiceid  # the same Submit, now certified
    page.reload()
    expect(page.get_by_test_id("certification-state")).to_have_text("已通过")


PUBLIC_HEADINGS = {
    "zh": {"signin": "登录", "signup": "免费体验", "confirm": "免费体验"},
    "en": {"signin": "Sign in", "signup": "Free trial", "confirm": "Free trial"},
}
CALL_ME = {"zh": "获取语音验证码", "en": "Call me with a code"}
NUMBER = {"zh": "手机号码", "en": "Mobile number"}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_public_pages_render_in_both_languages(
    page: Page, server: Server, screenshots: Path, lang: str
) -> None:
    page.context.add_cookies([{"name": "voiceotp_lang", "value": lang, "url": server.root}])
    for name, path in (("signin", "/user/signin"), ("signup", "/user/signup")):
        page.goto(server.root + path)
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
        expect(page.get_by_role("heading", level=1)).to_have_text(PUBLIC_HEADINGS[lang][name])
        page.screenshot(path=screenshots / f"user-{lang}-{name}.png", full_page=True)
    page.get_by_label(NUMBER[lang]).fill("13712340001" if lang == "zh" else "13712340002")
    page.get_by_role("button", name=CALL_ME[lang]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PUBLIC_HEADINGS[lang]["confirm"])
    expect(page.get_by_role("status")).to_contain_text("137****000")
    page.screenshot(path=screenshots / f"user-{lang}-signup-confirm.png", full_page=True)
