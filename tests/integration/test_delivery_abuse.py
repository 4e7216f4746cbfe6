"""Finished calls feed the gateway's failure-ratio detector: an account whose calls keep
failing is frozen (408), as docs/gateway.md promises."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.gateway.harness import VOICE, fixture_settings, serving
from tests.integration.helpers import new_account, tone_clips
from voiceotp.client import AsyncClient
from voiceotp.delivery.config import DeliverySettings, SimulationSettings
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.gateway import create_app
from voiceotp.protocol import Code

pytestmark = pytest.mark.timeout(60)


async def test_an_account_whose_calls_all_fail_is_frozen(tmp_path: Path) -> None:
    fast = SimulationSettings(ring_after_s=0.01, answer_after_s=0.01, reject_after_s=0.01)
    delivery = DeliverySettings(
        prompt_dir=tone_clips(tmp_path / "clips"),
        prompt_cache_dir=tmp_path / "cache",
        poll_s=0.1,
        simulation=fast,
    )
    settings = fixture_settings(
        tmp_path, delivery=delivery, abuse_failure_ratio=0.5, abuse_failure_min_calls=2
    )
    key = await new_account(settings)
    with serving(create_app(settings, migrate=False, delivery=DeliveryRuntime)) as base:
        async with AsyncClient(
            key.account, key.apikey, base_url=base + VOICE, raise_on_error=False
        ) as client:
            for mobile in ("13800130486", "13900130486"):  # both end BUSY (suffix rule)
                assert (await client.send(mobile, "1125")).ok
            for _ in range(200):
                answer = await client.get_num()
                if answer.code != Code.OK:
                    break
                await asyncio.sleep(0.05)
    assert answer.code == Code.ABUSE_FROZEN
