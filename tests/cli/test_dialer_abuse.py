"""`voiceotp dialer` feeds the abuse detector's failure ratio: an account whose calls fail
is frozen by the dialer process that ended them (before, only a dialer inside `serve`
told the detector; the deploy kit's dialers told nobody)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from tests.gateway.harness import fixture_settings
from tests.integration.helpers import new_account
from voiceotp.cli.dialer import run_dialer
from voiceotp.delivery.config import DeliverySettings, SimulationSettings
from voiceotp.store import Acceptance, make_store

pytestmark = pytest.mark.timeout(60)


async def test_a_dialer_process_freezes_an_account_whose_calls_fail(tmp_path: Path) -> None:
    rejecting = SimulationSettings(mix={"REJECTED": 1.0}, reject_after_s=0.01)
    settings = fixture_settings(
        tmp_path,
        delivery=DeliverySettings(simulation=rejecting),
        abuse_failure_ratio=0.5,
        abuse_failure_min_calls=3,
    )
    new = await new_account(settings, balance=10)
    store = make_store(settings)
    await store.open()
    try:
        account = await store.get_account(new.account)
        assert account is not None
        now = time.time()
        for i in range(3):
            await store.accept(Acceptance(account.id, f"1380000000{i}", "1125", now, now + 300))
        dialer = asyncio.create_task(run_dialer(settings, notifier=False))
        try:
            deadline = time.monotonic() + 30
            while account.state != "abuse_frozen" and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                account = await store.get_account(new.account)
                assert account is not None
        finally:
            dialer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dialer
        assert account.state == "abuse_frozen"
        events = [e for e in await store.audit_events(account.id) if e.kind == "abuse_freeze"]
        assert [e.detail for e in events] == ["failure_ratio: 3/3 failed"]
    finally:
        await store.close()
