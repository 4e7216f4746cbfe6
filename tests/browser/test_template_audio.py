"""An admin records a notification template's fixed part in the console: uploads a WAV,
sees and hears it, sets how many times the notices are said, removes the recording; a
file that is not audio is refused whatever its name."""

from __future__ import annotations

import asyncio
import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, sign_in
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.templates import Templates
from voiceotp.store import make_store

TEXT = "您的快递【变量】已到达,请取件。"


async def _approved(data_dir: Path, account: str) -> int:
    store = make_store(Settings.from_mapping({"dev_mode": True, "data_dir": data_dir}))
    await store.open()
    try:
        record = await store.get_account(account)
        assert record is not None
        templates = Templates(store, time.time)
        filed = await templates.file(record.id, TEXT, by="test")
        await templates.decide(filed.id, approve=True, by="test")
        return filed.id
    finally:
        await store.close()


def approved_template(server: Server) -> int:
    # In a thread: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, _approved(server.data_dir, server.key.account)).result()


def test_an_admin_records_a_fixed_part(
    page: Page, server: Server, tmp_path: Path, screenshots: Path
) -> None:
    template_id = approved_template(server)
    greeting = tmp_path / "greeting.wav"
    t = np.arange(13_230) / 22_050  # 0.6 s
    buffer = io.BytesIO()
    soundfile.write(buffer, 0.5 * np.sin(2 * np.pi * 500 * t), 22_050, format="WAV")
    greeting.write_bytes(buffer.getvalue())
    fake = tmp_path / "fake.wav"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(400))

    sign_in(page, server, "alice")
    page.get_by_role("link", name="语音通知模板").click()
    page.get_by_role("link", name=f"模板 {template_id}", exact=True).click()
    expect(page.get_by_role("heading", name=f"模板 {template_id}")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_label("录音: 「您的快递」"))
    expect(row.get_by_role("cell", name="合成语音")).to_be_visible()

    page.get_by_label("录音: 「您的快递」").set_input_files(fake)
    row.get_by_role("button", name="上传").click()
    refused = "文件须为 WAV、FLAC、Ogg 或 MP3 录音(按文件内容判断)。"  # its content, not its name
    expect(page.get_by_role("alert")).to_have_text(refused)

    page.get_by_label("录音: 「您的快递」").set_input_files(greeting)
    row.get_by_role("button", name="上传").click()
    expect(page.get_by_role("status")).to_have_text("录音已保存。")
    expect(row).to_contain_text("WAV, 0.6 s")
    player = page.get_by_label("试听: 「您的快递」")
    expect(player).to_be_visible()
    heard = page.request.get(server.root + str(player.get_attribute("src")))
    assert heard.status == 200
    assert heard.headers["content-type"] == "audio/wav"
    samples, rate = soundfile.read(io.BytesIO(heard.body()))
    assert rate == 8000
    assert abs(len(samples) / rate - 0.6) < 0.03

    page.screenshot(path=screenshots / "zh-template-recording.png", full_page=True)
    page.get_by_label("每条通知播放次数").select_option("2")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("已保存。")
    expect(page.get_by_text("2 ×")).to_be_visible()

    row.get_by_role("button", name="删除录音: 「您的快递」").click()
    expect(page.get_by_role("status")).to_have_text("录音已删除。")
    expect(row.get_by_role("cell", name="合成语音")).to_be_visible()
    assert list((server.data_dir / "uploads").iterdir()) == []
