"""Quiet hours (docs/notices.md): a notice accepted inside the account's window waits for
it to open; one whose validity ends first is never dialed and ends QUIET_EXPIRED, which
Query and the status push report. The clock is injected throughout."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.gateway.harness import running
from tests.gateway.notifykit import ACCOUNT, NOW, approved, call, notify
from tests.gateway.test_notify_delivery import rig
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.notify.sqloutbox import SqlOutbox
from voiceotp.delivery.sweep import Sweeper
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.notifyconf import NotifySettings
from voiceotp.gateway.submit.quiet import parse_quiet_hours, zone
from voiceotp.protocol import Method, parse_result
from voiceotp.store import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
# NOW is 2023-11-15 06:13:20 in Shanghai: inside the default 21:00-08:00.
OPENS = datetime(2023, 11, 15, 8, 0, tzinfo=SHANGHAI).timestamp()
HOOK = "https://push.example.com/hook"


def at(text: str, tz: ZoneInfo = SHANGHAI) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


@pytest.mark.parametrize(
    ("spec", "local", "opens"),
    [
        ("21:00-08:00", "2026-12-07 22:00", "2026-12-08 08:00"),
        ("21:00-08:00", "2026-12-07 07:59", "2026-12-07 08:00"),
        ("21:00-08:00", "2026-12-07 21:00", "2026-12-08 08:00"),
        ("21:00-08:00", "2026-12-07 08:00", None),
        ("21:00-08:00", "2026-12-07 20:59", None),
        ("12:00-14:00", "2026-12-07 13:00", "2026-12-07 14:00"),
        ("12:00-14:00", "2026-12-07 14:00", None),
    ],
)
def test_the_window_and_when_it_opens(spec: str, local: str, opens: str | None) -> None:
    quiet = parse_quiet_hours(spec)
    assert quiet is not None
    expected = at(opens) if opens else 0.0
    assert quiet.opens_at(at(local), SHANGHAI) == expected


def test_the_window_follows_daylight_saving_time() -> None:
    berlin = zone("Europe/Berlin")  # 2026-03-29: clocks go from 02:00 to 03:00
    quiet = parse_quiet_hours("21:00-08:00")
    assert quiet is not None
    opens = quiet.opens_at(at("2026-03-28 23:00", berlin), berlin)
    assert opens == at("2026-03-29 08:00", berlin)
    assert opens - at("2026-03-28 23:00", berlin) == 8 * 3600  # one hour less that night


def test_bad_specs_are_refused() -> None:
    assert parse_quiet_hours("") is None
    for bad in ("21-08", "25:00-08:00", "08:00-08:00"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


async def test_a_notice_in_quiet_hours_waits_for_them_to_open(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    async with running(store, settings, now=NOW) as harness:
        await approved(harness)
        sent = await notify(harness)
        assert sent.code == 2
        stored = await harness.store.get_call(sent.voiceid)
        assert stored is not None
        assert stored.not_before == OPENS
        r = rig(harness, tmp_path)
        assert await r.dial(sent.voiceid, stored.deadline, stored.not_before) == 0
        r.clock.now = OPENS - 1
        assert await r.run_due() == 0
        assert r.voice.said == []
        r.clock.now = OPENS
        assert await r.run_due() == 1
        dialed = await harness.store.get_call(sent.voiceid)
        assert dialed is not None
        assert dialed.state == "ANSWERED"
        code = await call(
            harness, path="/webservice/voice.php", mobile="13800138009", content="1234"
        )
        code_call = await harness.store.get_call(parse_result(code.content, Method.SUBMIT).voiceid)
        assert code_call is not None
        assert code_call.not_before == 0  # codes are never held


async def test_an_expired_notice_is_never_dialed_and_says_why(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    short = dataclasses.replace(settings, notify=NotifySettings(validity_s=3600))
    async with running(store, short, now=NOW) as harness:
        await harness.store.update_account(ACCOUNT, callback_url=HOOK)
        await harness.gateway.directory.load()
        await approved(harness)
        swept = await notify(harness, mobile="13800138001")
        late = await notify(harness, mobile="13800138002")
        r = rig(harness, tmp_path)
        for sent in (swept, late):
            stored = await harness.store.get_call(sent.voiceid)
            assert stored is not None
            assert stored.deadline == NOW + 3600 < stored.not_before == OPENS
            assert await r.dial(sent.voiceid, stored.deadline, stored.not_before) == 0
        # The sweep ends the first at its deadline; the second's job comes due when the
        # window opens, past its deadline: the worker ends it without dialing.
        fence = SqlFence(harness.store, clock=r.clock)
        expired = await Sweeper(fence).expire(NOW + 3600)
        assert swept.voiceid in expired
        r.clock.now = OPENS
        assert await r.run_due() == 2
        assert r.voice.said == []  # nothing was ever spoken, nothing dialed
        for sent in (swept, late):
            query = await call(harness, "Query", voiceid=sent.voiceid)
            assert parse_result(query.content, Method.QUERY).status == "QUIET_EXPIRED"
            [attempt] = await fence.attempts(sent.voiceid)
            assert (attempt.status, attempt.invite_at) == ("QUIET_EXPIRED", None)
            report = await SqlOutbox(harness.store).get(f"{sent.voiceid}-1")
            assert report is not None
            assert report.report.status == "QUIET_EXPIRED"


async def test_an_accounts_own_quiet_hours_and_zone(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        await approved(harness)
        admin = harness.gateway.admin
        await admin.configure(ACCOUNT, quiet_hours="")
        at_once = await notify(harness, mobile="13800138001")
        await admin.configure(ACCOUNT, quiet_hours="21:00-08:00", time_zone="Europe/London")
        london = await notify(harness, mobile="13800138002")  # 22:13 in London
        calls = [await harness.store.get_call(s.voiceid) for s in (at_once, london)]
        assert [c.not_before for c in calls if c] == [
            0.0,
            at("2023-11-15 08:00", ZoneInfo("Europe/London")),
        ]
