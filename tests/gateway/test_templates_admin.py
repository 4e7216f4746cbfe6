"""Notification templates through the admin API and ``voiceotp admin template``: filing
checks the syntax and the sensitive words; a decision is made once; a rejection needs a
reason; approval reaches the running gateway at once."""

from __future__ import annotations

from pathlib import Path

import httpx2
from click.testing import CliRunner

from tests.gateway.harness import FIXTURE, Harness, running
from voiceotp.cli import cli
from voiceotp.gateway.settings import DEV_ADMIN_TOKEN, Settings
from voiceotp.store import Store

NOW = float(FIXTURE["now"])
API = "/admin/api"
ACCOUNT = FIXTURE["accounts"][0]["account"]
SENSITIVE = FIXTURE["sensitive_words"][0]


def admin(harness: Harness) -> httpx2.AsyncClient:
    client = harness.client()
    client.headers.update({"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"})
    return client


async def test_file_approve_reject_over_the_admin_api(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        api = admin(harness)
        url = f"{API}/accounts/{ACCOUNT}/templates"
        filed = await api.post(
            url, json={"text": "您的快递【变量】已到达{station:12}", "var_max": 10}
        )
        assert filed.status_code == 200, filed.text
        template = filed.json()
        assert (template["state"], template["var_max"], template["account"]) == (
            "pending",
            10,
            ACCOUNT,
        )
        bad = await api.post(url, json={"text": "【变量】{a}"})
        assert bad.status_code == 400
        assert "side by side" in bad.json()["error"]
        word = await api.post(url, json={"text": f"您好{SENSITIVE}【变量】"})
        assert word.status_code == 400
        assert "sensitive" in word.json()["error"]
        pending = (await api.get(API + "/templates", params={"state": "pending"})).json()
        assert [t["id"] for t in pending] == [template["id"]]
        no_reason = await api.post(f"{API}/templates/{template['id']}/reject", json={})
        assert no_reason.status_code == 400
        approved = await api.post(f"{API}/templates/{template['id']}/approve", json={})
        assert approved.json()["state"] == "approved"
        twice = await api.post(f"{API}/templates/{template['id']}/reject", json={"reason": "x"})
        assert twice.status_code == 400
        assert "not pending" in twice.json()["error"]
        assert (await api.post(f"{API}/templates/999/approve", json={})).status_code == 404
        listed = (await api.get(url)).json()
        assert [t["state"] for t in listed] == ["approved"]
        assert listed[0]["play_times"] == 1
        times = f"{API}/templates/{template['id']}/play_times"
        assert (await api.post(times, json={"play_times": 2})).json()["play_times"] == 2
        for wrong in (0, 4, "4", True, None, 2.5):
            refused = await api.post(times, json={"play_times": wrong})
            assert refused.status_code == 400, wrong
        assert (await api.get(url)).json()[0]["play_times"] == 2
        audit = (await api.get(f"{API}/accounts/{ACCOUNT}/audit")).json()
        assert "template_approved" in [e["kind"] for e in audit]
        assert (await api.delete(f"{API}/templates/{template['id']}")).status_code == 200
        assert (await api.get(url)).json() == []


def test_the_cli_files_lists_and_decides(tmp_path: Path) -> None:
    runner = CliRunner(env={"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path)})

    def invoke(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    invoke("db", "upgrade")
    invoke("admin", "create", "--name", "V12345678")
    assert "template 1 of V12345678: pending" in invoke(
        "admin", "template", "file", "V12345678", "您的验证码【变量】,5分钟内有效"
    )
    assert "您的验证码" in invoke("admin", "template", "list", "--state", "pending")
    assert '"approved"' in invoke("admin", "template", "approve", "1")
    invoke("admin", "template", "file", "V12345678", "{who}您好,账单已出")
    assert '"rejected"' in invoke("admin", "template", "reject", "2", "--reason", "营销")
    refused = runner.invoke(cli, ["admin", "template", "file", "V12345678", "【变量】"])
    assert refused.exit_code == 2
    assert "no fixed text" in refused.output
    assert "deleted" in invoke("admin", "template", "delete", "1")


def test_the_cli_records_a_part_and_sets_the_play_count(tmp_path: Path) -> None:
    import io

    import numpy as np
    import soundfile

    runner = CliRunner(env={"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path)})

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    invoke("db", "upgrade")
    invoke("admin", "create", "--name", "V12345678")
    invoke("admin", "template", "file", "V12345678", "您的验证码【变量】,5分钟内有效")
    greeting = tmp_path / "greeting.flac"
    out = io.BytesIO()
    soundfile.write(out, 0.5 * np.sin(np.arange(8000) / 3), 16_000, format="FLAC")
    greeting.write_bytes(out.getvalue())
    pending = invoke("admin", "template", "record", "1", "0", str(greeting), code=2)
    assert "only approved" in pending
    invoke("admin", "template", "approve", "1")
    done = invoke("admin", "template", "record", "1", "0", str(greeting))
    assert '"kind": "FLAC"' in done
    assert '"duration_ms": 5' in done  # 0.5 s
    [kept] = list((tmp_path / "uploads").iterdir())
    assert kept.stat().st_mode & 0o777 == 0o600
    assert '"play_times": 3' in invoke("admin", "template", "play-times", "1", "3")
    assert "removed" in invoke("admin", "template", "unrecord", "1", "0")
    assert not kept.exists()
    invoke("admin", "template", "play-times", "1", "4", code=2)


def test_the_cli_list_names_the_account_and_shows_the_whole_text(tmp_path: Path) -> None:
    runner = CliRunner(env={"VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(tmp_path)})
    for args in (["db", "upgrade"], ["admin", "create", "--name", "V12345678"]):
        assert runner.invoke(cli, args).exit_code == 0
    text = "您的快递【变量】已到达{station:12},请凭取件码{code:6}于今日二十点前取件,逾期退回。"
    assert runner.invoke(cli, ["admin", "template", "file", "V12345678", text]).exit_code == 0
    listed = runner.invoke(cli, ["admin", "template", "list"], terminal_width=80)
    assert listed.exit_code == 0, listed.output
    assert "V12345678" in listed.output  # its name, not the store's row id
    cells = "".join(c for c in listed.output if not c.isspace() and c not in "│┃")
    assert text in cells, listed.output  # folded over lines, never cut with …
