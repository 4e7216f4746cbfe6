"""A graceful stop of the delivery runtime (SIGTERM to `voiceotp serve` or `voiceotp
dialer`): calls still ringing when the stop grace ends are hung up and recorded CANCELED
by this process; nothing is left `dialing` for a later sweep to find."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.gateway.harness import fixture_settings
from tests.integration.helpers import new_account, tone_clips
from voiceotp.delivery.config import DeliverySettings, SimulationSettings
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.store import Acceptance, make_store

pytestmark = pytest.mark.timeout(60)


def dials(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


async def test_stop_hangs_up_calls_still_ringing_after_the_grace(tmp_path: Path) -> None:
    dial_log = tmp_path / "dials.log"
    delivery = DeliverySettings(
        prompt_dir=tone_clips(tmp_path / "clips"),
        prompt_cache_dir=tmp_path / "cache",
        poll_s=0.05,
        ring_timeout_s=600.0,
        stop_grace_s=0.2,
        # Every call rings for five minutes: only the stop can end them.
        simulation=SimulationSettings(ring_after_s=0.01, answer_after_s=300.0, dial_log=dial_log),
    )
    settings = fixture_settings(tmp_path, delivery=delivery)
    key = await new_account(settings, balance=10)
    store = make_store(settings)
    await store.open()
    registry = CollectorRegistry()
    runtime = DeliveryRuntime(settings, store, run_notifier=False, registry=registry)
    try:
        account = await store.get_account(key.account)
        assert account is not None
        await runtime.start()
        now = time.time()
        calls = []
        for i in range(5):
            accepted = await store.accept(
                Acceptance(account.id, f"1380013800{i}", "1125", now, now + 300)
            )
            await runtime.accepted(accepted.voiceid, now + 300)
            calls.append(accepted.voiceid)
        while sorted(dials(dial_log)) != sorted(calls):  # all ringing (the timeout bounds it)
            await asyncio.sleep(0.02)
        in_flight = registry.get_sample_value("voiceotp_dialer_calls_in_flight")
        await runtime.stop()  # the default: delivery.stop_grace_s
        rows = [await store.get_call(v) for v in calls]
        records = [await runtime.fence.attempts(v) for v in calls]
        problems = await store.consistency_problems()
    finally:
        await store.close()
    assert [r.state if r else None for r in rows] == ["CANCELED"] * 5
    for [record] in records:
        assert "hung up after the 0.2 s stop grace" in record.detail
        assert record.worker == runtime.worker_name
    assert problems == []
    assert in_flight == 5
    assert registry.get_sample_value("voiceotp_dialer_calls_in_flight") == 0
    canceled = {"status": "CANCELED"}
    assert registry.get_sample_value("voiceotp_calls_finished_total", canceled) == 5
