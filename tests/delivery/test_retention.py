"""Retention sweeps with an injected clock: full numbers masked after ``keep_numbers_days``,
call audio deleted after ``keep_audio_days``, per-account overrides, ledger and audit kept,
and the metrics of what was removed (docs/privacy.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from prometheus_client import CollectorRegistry

from tests.delivery.queue.sqlstores import NOW, add_account, add_call
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.queue import CallTicket
from voiceotp.delivery.retention import DAY_S, RetentionSettings, RetentionSweep
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store
from voiceotp.store.keys import KeyBox
from voiceotp.store.privacy import masked_number

HOOK = "http://127.0.0.1:9/hook"
ANSWERED = CallOutcome(CallStatus.ANSWERED, 200, 16, NOW + 1, NOW + 2, NOW + 4, NOW + 14, 10.0)
CALLS = {"101": ("V1", "13800138001"), "102": ("V2", "13900139002")}


async def ended_calls(store: Store, settings: Settings, record_dir: Path) -> SqlFence:
    """V1 (server defaults) and V2 (1 day for numbers and audio), one ended call each with
    its audio and a delivered status report; plus a WAV of no known call."""
    ids = {
        "V1": await add_account(store, settings, name="V1", callback=HOOK),
        "V2": await add_account(store, settings, name="V2", callback=HOOK),
    }
    await store.update_account("V2", keep_numbers_days=1, keep_audio_days=1)
    fence = SqlFence(store, keybox=KeyBox(settings.secret_key), clock=lambda: NOW + 20)
    record_dir.mkdir()
    for voiceid, (account, mobile) in CALLS.items():
        await add_call(store, CallTicket(voiceid, mobile, "4711"), account_id=ids[account])
        assert await fence.finish(voiceid, ANSWERED, attempt=1)
        (record_dir / f"{voiceid}.wav").write_bytes(b"RIFF")
    orphan = record_dir / "999.wav"
    orphan.write_bytes(b"RIFF")
    os.utime(orphan, (NOW, NOW))
    await store.transact(lambda tx: tx.execute("UPDATE outbox SET state = 'delivered'"))
    await store.transact(  # as if 102 had been a Verify: its code's row holds the number too
        lambda tx: tx.execute(
            "INSERT INTO verifications (voiceid, account_id, mobile, salt, code_mac, state, "
            "attempts, max_attempts, created_at, expires_at) "
            "VALUES (102, $1, '13900139002', 's', 'm', 'expired', 0, 5, $2, $3)",
            ids["V2"],
            NOW,
            NOW + 300,
        )
    )
    return fence


async def numbers(store: Store) -> dict[str, str]:
    return {str(v): str(m) for v, m in await store.read("SELECT voiceid, mobile FROM calls")}


async def reported(store: Store) -> dict[str, str]:
    rows = await store.read("SELECT report FROM outbox")
    return {r["voiceid"]: r["mobile"] for r in (json.loads(str(t)) for (t,) in rows)}


async def kept_rows(store: Store) -> tuple[int, int]:
    (ledger,) = (await store.read("SELECT COUNT(*) FROM ledger"))[0]
    (audit,) = (await store.read("SELECT COUNT(*) FROM audit_events"))[0]
    return int(ledger), int(audit)


async def test_numbers_and_audio_go_after_their_days_per_account(
    sql_store: Store, db_settings: Settings, tmp_path: Path
) -> None:
    record_dir, legacy = tmp_path / "calls", tmp_path / "console-prompts"
    await ended_calls(sql_store, db_settings, record_dir)
    sweep = RetentionSweep(
        sql_store, RetentionSettings(), record_dir=record_dir, stale_dirs=(legacy,)
    )
    before = await kept_rows(sql_store)
    legacy.mkdir()
    (legacy / "101.wav").write_bytes(b"RIFF")  # rendered from the code by older consoles

    early = await sweep.sweep(NOW + 0.5 * DAY_S)  # only the stale render is due
    assert (early.numbers_masked, early.reports_masked, early.audio_deleted) == (0, 0, 1)
    assert list(legacy.iterdir()) == []

    two_days = await sweep.sweep(NOW + 2 * DAY_S)  # V2's day has passed, not V1's 180 / 7
    assert (two_days.numbers_masked, two_days.reports_masked, two_days.audio_deleted) == (1, 1, 1)
    assert await numbers(sql_store) == {"101": "13800138001", "102": "139****9002"}
    assert await reported(sql_store) == {"101": "13800138001", "102": "139****9002"}
    verification = await sql_store.read("SELECT mobile FROM verifications")
    assert [str(m) for (m,) in verification] == ["139****9002"]
    assert sorted(p.name for p in record_dir.iterdir()) == ["101.wav", "999.wav"]

    week = await sweep.sweep(NOW + 8 * DAY_S)  # V1's audio (7 days), the unknown call's
    assert (week.numbers_masked, week.audio_deleted) == (0, 2)
    assert list(record_dir.iterdir()) == []

    half_year = await sweep.sweep(NOW + 181 * DAY_S)
    assert (half_year.numbers_masked, half_year.reports_masked) == (1, 1)
    assert await numbers(sql_store) == {"101": "138****8001", "102": "139****9002"}
    assert (await sweep.sweep(NOW + 182 * DAY_S)).numbers_masked == 0  # once
    assert await kept_rows(sql_store) == before  # the ledger and the audit stay
    assert sweep.totals == {
        "numbers": 2,
        "reports": 2,
        "audio": 4,
        "signups": 0,
        "codes": 0,
        "scrubs": 0,
    }


async def test_a_pending_report_and_a_live_call_keep_their_numbers(
    sql_store: Store, db_settings: Settings, tmp_path: Path
) -> None:
    await ended_calls(sql_store, db_settings, tmp_path / "calls")
    await sql_store.transact(
        lambda tx: tx.execute("UPDATE outbox SET state = 'pending' WHERE report_id = '102-1'")
    )
    account = await sql_store.get_account("V2")
    assert account is not None
    await add_call(sql_store, CallTicket("103", "13900139003", "4712"), account_id=account.id)
    sweep = RetentionSweep(sql_store, RetentionSettings(), record_dir=None)
    counts = await sweep.sweep(NOW + 2 * DAY_S)
    assert (counts.numbers_masked, counts.reports_masked) == (1, 0)
    assert (await numbers(sql_store))["103"] == "13900139003"  # still queued: not masked
    assert (await reported(sql_store))["102"] == "13900139002"  # goes out as written


async def test_the_runtime_counts_what_retention_removed(
    sql_store: Store, db_settings: Settings, tmp_path: Path
) -> None:
    record_dir = tmp_path / "calls"
    clock = [NOW + 2 * DAY_S]
    sim = {"record_dir": str(record_dir)}
    settings = Settings.from_mapping(
        {
            "dev_mode": True,
            "database_url": db_settings.database_url,
            "data_dir": tmp_path,
            "delivery": {"simulation": sim},
            "retention": {"scrub_every_s": 0},
        }
    )
    registry = CollectorRegistry()
    runtime = DeliveryRuntime(settings, sql_store, registry=registry, clock=lambda: clock[0])
    runtime.fence = await ended_calls(sql_store, settings, record_dir)
    await runtime.retention_once()

    def removed(what: str) -> float | None:
        return registry.get_sample_value("voiceotp_retention_removed_total", {"what": what})

    assert (removed("numbers"), removed("reports"), removed("audio")) == (1, 1, 1)
    assert removed("journal_scrubs") == 1  # the fence had erased two codes


def test_a_masked_number_always_has_the_stars_the_sweeps_look_for() -> None:
    assert masked_number("13800138000") == "138****8000"
    assert masked_number("138****8000") == "138****8000"  # masked once, stays
    assert masked_number("") == masked_number("123") == "****"


async def test_user_center_sign_ups_keep_their_number_as_long_as_calls_do(
    sql_store: Store, db_settings: Settings, tmp_path: Path
) -> None:
    await ended_calls(sql_store, db_settings, tmp_path / "calls")
    account = await sql_store.get_account("V2")  # 1 day for numbers
    assert account is not None
    for token, mobile, account_id in (("a", "13700137001", None), ("b", "13700137002", account.id)):
        await sql_store.transact(
            lambda tx, token=token, mobile=mobile, account_id=account_id: tx.execute(
                "INSERT INTO signups (token_hash, mobile, ip, voiceid, state, account_id, "
                "created_at) VALUES ($1, $2, '198.51.100.7', '', 'done', $3, $4)",
                token,
                mobile,
                account_id,
                NOW,
            )
        )
    sweep = RetentionSweep(sql_store, RetentionSettings(), record_dir=None)

    async def signups() -> list[tuple[str, str]]:
        rows = await sql_store.read("SELECT mobile, ip FROM signups ORDER BY token_hash")
        return [(str(m), str(i)) for m, i in rows]

    assert (await sweep.sweep(NOW + 2 * DAY_S)).signups_masked == 1  # V2's, after its day
    assert await signups() == [("13700137001", "198.51.100.7"), ("137****7002", "")]
    assert (await sweep.sweep(NOW + 181 * DAY_S)).signups_masked == 1  # the server's 180
    assert await signups() == [("137****7001", ""), ("137****7002", "")]


async def test_codes_that_ended_calls_hold_from_before_erasure_go_at_the_first_sweep(
    sql_store: Store, db_settings: Settings, tmp_path: Path
) -> None:
    """A store upgraded to this version: calls that ended before still hold their code."""
    account_id = await add_account(sql_store, db_settings)
    for voiceid, state in (("201", "ANSWERED"), ("202", "BUSY"), ("203", "queued")):
        await add_call(sql_store, CallTicket(voiceid, "13800138000", "4711"), account_id=account_id)
        await sql_store.transact(
            lambda tx, v=voiceid, s=state: tx.execute(
                "UPDATE calls SET state = $2 WHERE voiceid = $1", int(v), s
            )
        )
    keybox = KeyBox(db_settings.secret_key)
    sweep = RetentionSweep(
        sql_store, RetentionSettings(scrub_every_s=0), record_dir=None, keybox=keybox
    )
    counts = await sweep.sweep(NOW + 1)
    assert (counts.codes_erased, counts.journal_scrubbed) == (2, True)
    rows = await sql_store.read("SELECT voiceid, content FROM calls ORDER BY voiceid")
    fingerprint = keybox.fingerprint("13800138000", "4711")
    assert [(str(v), str(c)) for v, c in rows] == [
        ("201", fingerprint),
        ("202", fingerprint),
        ("203", "4711"),  # still queued: the dialer needs it
    ]
    assert (await sweep.sweep(NOW + 2)).codes_erased == 0
