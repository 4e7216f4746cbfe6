"""The user center in a real browser against the real ``voiceotp serve``: the whole 免费体验
sign-up, the code read back from what the simulated carrier spoke (its recording of the
call), then the trial account's Submits."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.heard import heard_code
from voiceotp import Client
from voiceotp.errors import TrialRestricted
from voiceotp.gateway.settings import DEV_SECRET_KEY
from voiceotp.store.keys import KeyBox

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


def apikey_of(server: Server, account: str) -> str:
    sealed = server.sql("SELECT apikey_enc FROM accounts WHERE name = ?", account)[0][0]
    return KeyBox(DEV_SECRET_KEY).open(str(sealed))


def test_sign_up_with_the_heard_code_opens_a_trial_account(
    page: Page, server: Server, screenshots: Path
) -> None:
    sign_up(page, server)
    expect(page.get_by_test_id("trial")).to_have_text("体验账户")
    account = page.get_by_test_id("apiid").inner_text()
    page.screenshot(path=str(screenshots / "user-zh-overview-trial.png"), full_page=True)
    with Client(account, apikey_of(server, account), base_url=server.endpoint) as api:
        assert api.send(MOBILE, "4321").voiceid
        with pytest.raises(TrialRestricted) as refused:
            api.send(OTHER, "4321")
        assert refused.value.code == 4053
