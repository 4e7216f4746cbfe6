"""A data-subject request on one account, over the admin API and ``voiceotp admin
personal-data``: export (numbers, audio) and erase (numbers masked, audio deleted), both
audited with the number masked; retention overrides set per account (docs/privacy.md)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

from click.testing import CliRunner

from tests.gateway.harness import FIXTURE, Harness, running
from tests.gateway.test_admin_api import API, admin
from voiceotp.cli import cli
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.factory import record_dir
from voiceotp.delivery.fence import SqlFence
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import Method, parse_result
from voiceotp.store import Store, make_store
from voiceotp.store.keys import KeyBox

NOW = float(FIXTURE["now"])
ACCOUNT, KEY = "V10000001", "0123456789abcdef0123456789abcdef"
ONE, OTHER = "13800138000", "13900139000"


async def ended_call(harness: Harness, mobile: str, *, audio: bool = True) -> str:
    """A Submit to ``mobile``, answered, with the carrier's recording if ``audio``."""
    form = {"account": ACCOUNT, "password": KEY, "mobile": mobile, "content": "4711"}
    answer = await harness.submit(**form)
    voiceid = parse_result(answer.content, Method.SUBMIT).voiceid
    settings = harness.gateway.settings
    fence = SqlFence(harness.store, keybox=KeyBox(settings.secret_key))
    done = CallOutcome(CallStatus.ANSWERED, 200, 16, NOW, NOW + 1, NOW + 2, NOW + 9, 7.0)
    assert await fence.finish(voiceid, done, attempt=1)
    if audio:
        folder = record_dir(settings.delivery, settings.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{voiceid}.wav").write_bytes(b"RIFF" + voiceid.encode())
    harness.clock_value[0] += 61  # past the per-number minute cap
    return voiceid


async def signed_up(harness: Harness, mobile: str) -> None:
    account = await harness.store.get_account(ACCOUNT)
    assert account is not None
    await harness.store.transact(
        lambda tx: tx.execute(
            "INSERT INTO signups (token_hash, mobile, ip, voiceid, state, account_id, "
            "created_at) VALUES ('t', $1, '198.51.100.7', '', 'done', $2, $3)",
            mobile,
            account.id,
            NOW,
        )
    )


async def audit_of(harness: Harness) -> list[dict[str, object]]:
    answer = await admin(harness).get(f"{API}/accounts/{ACCOUNT}/audit")
    return [e for e in answer.json() if str(e["kind"]).startswith("personal_data")]


async def test_export_then_erase_one_number_over_the_api(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        first = await ended_call(harness, ONE)
        other = await ended_call(harness, OTHER)
        await signed_up(harness, ONE)  # the user center's sign-up that made the account
        client = admin(harness)
        url = f"{API}/accounts/{ACCOUNT}/personal-data"

        everything = (await client.get(url)).json()
        assert [(c["voiceid"], c["mobile"], c["audio"]) for c in everything["calls"]] == [
            (first, ONE, True),
            (other, OTHER, True),
        ]
        assert "audio_wav_base64" not in everything["calls"][0]
        assert [s["mobile"] for s in everything["signups"]] == [ONE]
        one = (await client.get(url, params={"mobile": ONE, "audio": "1"})).json()
        [call] = one["calls"]
        assert base64.b64decode(call["audio_wav_base64"]) == b"RIFF" + first.encode()

        erased = (await client.post(url + "/erase", json={"mobile": ONE})).json()
        assert (erased["numbers_masked"], erased["audio_deleted"], erased["signups_masked"]) == (
            1,
            1,
            1,
        )
        assert erased["mobile"] == "138****8000"
        after = (await client.get(url)).json()
        assert [(c["mobile"], c["audio"]) for c in after["calls"]] == [
            ("138****8000", False),
            (OTHER, True),  # another number's data stays
        ]
        assert [s["mobile"] for s in after["signups"]] == ["138****8000"]
        assert (await client.post(url + "/erase", json={"mobile": "12"})).status_code == 400
        assert (await client.get(f"{API}/accounts/V19999999/personal-data")).status_code == 404
        audited = await audit_of(harness)
    assert sorted(str(e["kind"]) for e in audited) == [
        "personal_data_erased",
        *["personal_data_exported"] * 3,
    ]
    assert not [e for e in audited if ONE in str(e["detail"])]  # masked in the audit
    assert any("138****8000" in str(e["detail"]) for e in audited)


async def test_retention_overrides_are_set_over_the_api(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        client = admin(harness)
        url = f"{API}/accounts/{ACCOUNT}"
        changed = await client.patch(url, json={"keep_numbers_days": 30, "keep_audio_days": 1})
        assert (changed.json()["keep_numbers_days"], changed.json()["keep_audio_days"]) == (30, 1)
        assert (await client.patch(url, json={"keep_audio_days": -1})).status_code == 400
        cleared = await client.patch(url, json={"keep_numbers_days": None})
        assert cleared.json()["keep_numbers_days"] is None  # the server's setting again


def test_the_cli_exports_audio_and_erases_a_whole_account(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    async def two_calls() -> str:
        async with running(store, settings, now=NOW) as harness:
            first = await ended_call(harness, ONE)
            await ended_call(harness, OTHER, audio=False)
        return first

    async def numbers() -> set[str]:
        fresh = make_store(settings)  # the fixture's store belongs to the first loop
        await fresh.open()
        try:
            return {str(m) for (m,) in await fresh.read("SELECT mobile FROM calls")}
        finally:
            await fresh.close()

    first = asyncio.run(two_calls())
    runner = CliRunner(
        env={
            "VOICEOTP_DEV_MODE": "1",
            "VOICEOTP_DATA_DIR": str(settings.data_dir),
            "VOICEOTP_DATABASE_URL": settings.effective_database_url,
        }
    )
    out = tmp_path / "request"
    exported = runner.invoke(cli, ["admin", "personal-data", "export", ACCOUNT, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert "2 calls, 1 audio files" in exported.output
    doc = json.loads((out / "personal-data.json").read_text("utf-8"))
    assert {c["mobile"] for c in doc["calls"]} == {ONE, OTHER}
    assert (out / f"{first}.wav").read_bytes() == b"RIFF" + first.encode()

    refused = runner.invoke(cli, ["admin", "personal-data", "erase", ACCOUNT], input="n\n")
    assert refused.exit_code == 1  # asked, and not confirmed: nothing done
    erased = runner.invoke(cli, ["admin", "personal-data", "erase", ACCOUNT, "--yes"])
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.output)["numbers_masked"] == 2
    assert asyncio.run(numbers()) == {"138****8000", "139****9000"}
    folder = record_dir(settings.delivery, settings.data_dir)
    assert list(folder.iterdir()) == []
