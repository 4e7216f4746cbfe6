"""A call placed through the simulated carrier, seen in the console: records, the
detail's timeline, and the audio the callee heard (a real WAV, Range requests)."""

from __future__ import annotations

import time
import wave

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, sign_in
from voiceotp.client import Client

DURATION_JS = """audio => new Promise((resolve, reject) => {
  if (audio.readyState >= 1) return resolve(audio.duration);
  audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
  audio.addEventListener("error", () => reject(new Error("audio failed to load")));
  audio.load();
})"""


def place_call(server: Server, mobile: str) -> str:
    """Send a code and wait for the call's final status (the carrier answers in ~0.4 s)."""
    with Client(server.key.account, server.key.apikey, base_url=server.endpoint) as api:
        voiceid = api.send(mobile, "4321").voiceid
        assert voiceid is not None
        deadline = time.monotonic() + 30
        while api.query(voiceid).status in ("QUEUED", "DIALING"):
            assert time.monotonic() < deadline, "the call did not end"
            time.sleep(0.1)  # polling the API for the outcome, not waiting on the page
    return voiceid


def test_a_call_appears_with_timeline_and_audio(page: Page, server: Server) -> None:
    voiceid = place_call(server, "13700137000")
    sign_in(page, server, "sam")  # support may listen
    page.get_by_role("link", name="呼叫记录").click()
    row = page.get_by_role("row").filter(has_text=voiceid)
    expect(row).to_contain_text("137****7000")  # masked in the list
    expect(row).to_contain_text("ANSWERED")
    row.get_by_role("link", name=voiceid).click()
    expect(page.get_by_test_id("call-state")).to_have_text("ANSWERED")
    attempt = page.get_by_role("table", name="尝试").get_by_role("row").filter(has_text="ANSWERED")
    expect(attempt).to_contain_text("simulated")  # the dialer that placed it
    timeline = page.get_by_role("list", name="时间线")
    for step in ("提交", "排队", "拨号", "振铃", "接听", "结束"):
        expect(timeline.get_by_role("listitem").filter(has_text=step)).to_contain_text("20")
    audio = page.get_by_label("被叫听到的内容", exact=True)
    duration = float(audio.evaluate(DURATION_JS))
    with wave.open(str(server.data_dir / "calls" / f"{voiceid}.wav")) as wav:
        expected = wav.getnframes() / wav.getframerate()
    assert expected > 0.1
    assert abs(duration - expected) < 0.05, (duration, expected)
    ranged = page.request.get(
        f"{server.url}/calls/{voiceid}/audio", headers={"range": "bytes=0-43"}
    )
    assert ranged.status == 206
    assert ranged.headers["content-type"] == "audio/wav"
    assert ranged.headers["content-range"].startswith("bytes 0-43/")
    assert ranged.body()[:4] == b"RIFF"


def test_records_search_by_full_number_is_audited(page: Page, server: Server) -> None:
    voiceid = place_call(server, "13600136000")
    sign_in(page, server, "sam")
    page.goto(f"{server.url}/calls")
    page.get_by_label("手机号").fill("13600136000")
    page.get_by_role("button", name="搜索").click()
    expect(page.get_by_role("link", name=voiceid)).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(2)  # the header and this call
    rows = server.sql("SELECT actor, action, target FROM web_audit WHERE action LIKE 'calls.%'")
    assert ("sam", "calls.search_mobile", "136****6000") in rows
    csv = page.request.get(f"{server.url}/calls.csv?mobile=13600136000")
    assert csv.status == 200
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text().splitlines()
    assert lines[0].startswith("voiceid,account,mobile")
    assert lines[1].startswith(f"{voiceid},{server.key.account},136****6000,ANSWERED")
