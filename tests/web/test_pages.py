"""The console's pages on both stores (in-process): call records with filters and keyset
pages, a call's detail, CSV, the dashboard and its fragment, rules, the audit log."""

from __future__ import annotations

import contextlib
import re
import time

from tests.delivery.audio.helpers import synthetic_prompts
from tests.web.conftest import Console
from voiceotp.delivery.audio import render_prompt
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.dialer.base import MediaQuality
from voiceotp.delivery.factory import record_dir
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.notify import PushAttempt
from voiceotp.delivery.notify.sqloutbox import SqlOutbox
from voiceotp.delivery.queue import ClaimVerdict
from voiceotp.store.web import list_audit

MOBILES = ("13800138001", "13800138002", "13800138003")


async def submit_calls(console: Console) -> tuple[str, list[str]]:
    key = await console.gateway.admin.create_account(name="V10000002", balance=50)
    voiceids = []
    async with console.client() as client:
        for mobile in MOBILES:
            form = {"account": key.account, "password": key.apikey, "mobile": mobile,
                    "content": "1234", "format": "json"}  # fmt: skip
            answer = await client.post("/webservice/voice.php?method=Submit", data=form)
            assert answer.json()["code"] == 2, answer.text
            voiceids.append(str(answer.json()["voiceid"]))
    return key.account, voiceids


async def recorded_and_expired(console: Console, voiceids: list[str]) -> None:
    """The calls as if they had been answered (a carrier recording each) long enough ago
    that their codes cannot be valid any more."""
    settings = console.gateway.settings
    folder = record_dir(settings.delivery, settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for voiceid in voiceids:
        render_prompt("1234", prompts=synthetic_prompts()).to_wav(folder / f"{voiceid}.wav")
    window = settings.retention.submit_code_valid_s + 1
    await console.gateway.store.transact(
        lambda tx: tx.execute("UPDATE calls SET created_at = created_at - $1", window)
    )


async def test_call_records_filters_and_pages(console: Console) -> None:
    account, voiceids = await submit_calls(console)
    client, _ = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        page = await client.get("/console/calls")
        assert page.status_code == 200
        assert all(v in page.text for v in voiceids)
        assert "138****8001" in page.text
        assert "13800138001" not in page.text
        one = await client.get("/console/calls", params={"mobile": MOBILES[1]})
        assert voiceids[1] in one.text
        assert voiceids[0] not in one.text
        by_account = await client.get("/console/calls", params={"account": "V10000001"})
        assert voiceids[0] not in by_account.text
        queued = await client.get("/console/calls", params={"state": "queued"})
        assert all(v in queued.text for v in voiceids)
        after = await client.get("/console/calls", params={"after": voiceids[2]})
        assert voiceids[1] in after.text
        assert voiceids[2] not in after.text.split("<tbody>")[1]
        detail = await client.get(f"/console/calls/{voiceids[0]}")
        assert detail.status_code == 200
        assert account in detail.text
        assert (await client.get("/console/calls/999")).status_code == 404
        assert (await client.get("/console/calls/999/audio")).status_code == 404
        # not dialed yet: its code is live, so no player (tests/web/test_call_audio.py)
        assert 'data-testid="audio-later"' in detail.text
        assert "<audio" not in detail.text
        assert (await client.get(f"/console/calls/{voiceids[0]}/audio")).status_code == 403
        csv = await client.get("/console/calls.csv", params={"account": account})
        assert csv.text.count("\n") == 4
        assert "138****8003" in csv.text


async def test_dashboard_rules_and_audit(console: Console) -> None:
    await submit_calls(console)
    client, csrf = await console.signed_in("alice")
    async with contextlib.aclosing(client):
        for window in ("hour", "day", "week"):
            page = await client.get("/console/", params={"window": window})
            assert page.status_code == 200
            assert 'data-testid="accepted">3<' in page.text
        fragment = await client.get("/console/", headers={"hx-request": "true"})
        assert "<html" not in fragment.text
        assert "data-testid" in fragment.text
        added = await client.post(
            "/console/rules",
            data={"csrf_token": csrf, "kind": "deny_ip", "value": "203.0.113.0/24", "op": "add"},
        )
        assert added.status_code == 303
        assert (await console.gateway.admin.server_policy())["deny_ip"] == ["203.0.113.0/24"]
        bad = await client.post(
            "/console/rules",
            data={"csrf_token": csrf, "kind": "deny_ip", "value": "nonsense", "op": "add"},
        )
        assert bad.status_code == 400
        audit = await client.get("/console/audit")
        assert "rules.add" in audit.text
        assert "203.0.113.0/24" in audit.text


async def test_call_page_shows_its_status_pushes(console: Console) -> None:
    from voiceotp.store.rows import Tx

    _, voiceids = await submit_calls(console)

    async def work(tx: Tx) -> None:
        await tx.execute(
            "INSERT INTO outbox (report_id, account, callback_url, report, state, attempts, "
            "next_at, created_at, note) VALUES ($1, 'V10000002', 'https://hooks.example/v', "
            "'{}', 'pending', 2, 9e9, 1.0, 'HTTP 503')",
            f"{voiceids[0]}-1",
        )

    await console.gateway.store.transact(work)
    client, _ = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        page = await client.get(f"/console/calls/{voiceids[0]}")
        assert "https://hooks.example/v" in page.text
        assert "HTTP 503" in page.text
        other = await client.get(f"/console/calls/{voiceids[1]}")
        assert "hooks.example" not in other.text


MEDIA = MediaQuality(received=498, lost=2, jitter_ms=0.44, callee_lost=3, callee_jitter_ms=1.0)


def _table_rows(html: str, label: str, columns: int) -> list[list[str]]:
    """The cells of the table labelled ``label``, row by row."""
    table = html.split(f'<table aria-label="{label}">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table.split("<tbody>", 1)[1], re.S)
    return [cells[i : i + columns] for i in range(0, len(cells), columns)]


async def test_call_page_lists_every_push_with_its_http_status_and_the_dialer_per_attempt(
    console: Console,
) -> None:
    _, voiceids = await submit_calls(console)
    voiceid, store, now = voiceids[0], console.gateway.store, time.time()
    fence = SqlFence(store)
    for attempt, outcome in (
        (1, CallOutcome(CallStatus.NO_ANSWER, 487, 19, dialer="sip:trunk.example.net")),
        (2, CallOutcome(CallStatus.ANSWERED, 200, 16, dialer="relay:backup", media=MEDIA)),
    ):
        claim = await fence.claim_for_dialing(
            voiceid, attempt=attempt, worker="w1", now=now, lease_s=60
        )
        assert claim.verdict is ClaimVerdict.GRANTED
        if attempt == 1:
            assert await fence.requeue(voiceid, outcome, attempt=1, not_before=now)
        else:
            assert await fence.finish(voiceid, outcome, attempt=2)
    report = f"{voiceid}-2"
    await SqlOutbox(store).record_push_attempts(
        [
            PushAttempt(report, voiceid, 1, now, 503, "", 0.2),
            PushAttempt(report, voiceid, 2, now + 30, 0, "TimeoutError", 10.0),
            PushAttempt(report, voiceid, 3, now + 90, 204, "", 0.1),
            PushAttempt(f"{voiceids[1]}-1", voiceids[1], 1, now, 500, "", 0.1),  # another call
        ]
    )
    client, csrf = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        page = await client.get(f"/console/calls/{voiceid}")
        await client.post("/console/language", data={"csrf_token": csrf, "language": "en"})
        english = await client.get(f"/console/calls/{voiceid}")
    assert page.status_code == english.status_code == 200
    assert _table_rows(english.text, "Push attempts", 6) == _table_rows(page.text, "推送尝试", 6)
    assert "<th>HTTP status</th>" in english.text
    attempts = _table_rows(page.text, "尝试", 14)
    assert [(row[0], row[1], row[4], row[5]) for row in attempts] == [
        ("1", "NO_ANSWER", "sip:trunk.example.net", "w1"),
        ("2", "ANSWERED", "relay:backup", "w1"),
    ]
    # the RTP columns of migration 0013: empty where the dialer measured nothing
    media = [(row[11], row[12]) for row in attempts]
    assert media == [("", ""), ("498 / 2 / 0.4 ms", "3 / 1.0 ms")]
    assert "<th>RTP received: packets / lost / jitter</th>" in english.text
    pushes = _table_rows(page.text, "推送尝试", 6)
    assert [(row[1], row[2], row[3], row[4]) for row in pushes] == [
        (report, "1", "503", ""),
        (report, "2", "—", "TimeoutError"),
        (report, "3", "204", ""),
    ]
    assert "HTTP 状态码" in page.text


async def test_every_way_of_fetching_a_calls_audio_is_audited(console: Console) -> None:
    """A suffix or mid-file Range still hands out the audio: the listen is audited (once a
    few minutes per operator and call, not once per seek)."""
    _, voiceids = await submit_calls(console)
    await recorded_and_expired(console, voiceids)
    client, _ = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        for voiceid, ranges in zip(voiceids, ("bytes=-999999999", "bytes=1-"), strict=False):
            for _ in range(3):
                audio = await client.get(
                    f"/console/calls/{voiceid}/audio", headers={"range": ranges}
                )
                assert audio.status_code == 206
        entries = await list_audit(console.gateway.store, limit=50)
        listens = sorted(e.target for e in entries if e.action == "calls.listen")
        assert listens == sorted(voiceids[:2])


async def test_the_audit_log_page_masks_the_numbers_it_holds(console: Console) -> None:
    """A full-number search is audited with the number, but the Audit log page is a list
    every operator reads: numbers in it are masked like everywhere else (the store keeps
    them for an investigation)."""
    _, voiceids = await submit_calls(console)
    admin, _ = await console.signed_in("alice")
    async with contextlib.aclosing(admin):
        assert (await admin.get("/console/calls", params={"mobile": MOBILES[1]})).is_success
        assert (await admin.get("/console/calls.csv", params={"mobile": MOBILES[2]})).is_success
    support, _ = await console.signed_in("sam")
    async with contextlib.aclosing(support):
        page = await support.get("/console/audit")
        assert page.status_code == 200
        assert "calls.search_mobile" in page.text
        assert MOBILES[1] not in page.text
        assert MOBILES[2] not in page.text
        assert "138****8002" in page.text
        await recorded_and_expired(console, voiceids[:1])
        listen = await support.get(f"/console/calls/{voiceids[0]}/audio")
        assert listen.status_code == 200
        assert voiceids[0] in (await support.get("/console/audit")).text  # ids stay whole


async def test_the_csv_export_is_not_cached(console: Console) -> None:
    """Call records leave as CSV with the pages' no-store and nosniff headers."""
    await submit_calls(console)
    client, _ = await console.signed_in("sam")
    async with contextlib.aclosing(client):
        csv = await client.get("/console/calls.csv")
        assert csv.status_code == 200
        assert csv.headers["cache-control"] == "no-store"
        assert csv.headers["x-content-type-options"] == "nosniff"
