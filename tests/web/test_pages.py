"""The console's pages on both stores (in-process): call records with filters and keyset
pages, a call's detail, CSV, the dashboard and its fragment, rules, the audit log."""

from __future__ import annotations

import contextlib

from tests.web.conftest import Console

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
        # not dialed yet: the prompt rendered as the dialer renders it
        assert "按设置合成的语音" in detail.text
        audio = await client.get(f"/console/calls/{voiceids[0]}/audio")
        assert audio.status_code == 200
        assert audio.headers["content-type"] == "audio/wav"
        assert audio.content[:4] == b"RIFF"
        assert len(audio.content) > 8000
        part = await client.get(
            f"/console/calls/{voiceids[0]}/audio", headers={"range": "bytes=100-199"}
        )
        assert part.status_code == 206
        assert part.content == audio.content[100:200]
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
