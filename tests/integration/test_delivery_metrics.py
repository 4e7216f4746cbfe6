"""/metrics shows delivery: backlog, call outcomes, calls in flight, status push."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.harness import VOICE, fixture_settings, serving
from tests.integration.helpers import Receiver, new_account, run_receiver, tone_clips
from voiceotp.client import AsyncClient
from voiceotp.delivery.config import DeliverySettings, SimulationSettings
from voiceotp.delivery.dialer import CallOutcome, CallRequest
from voiceotp.delivery.dialer.simulated import SimulatedCarrier
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.gateway import create_app
from voiceotp.gateway.settings import Settings
from voiceotp.store.base import Store

pytestmark = pytest.mark.timeout(60)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition ``text``."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"no sample {name}{labels} in /metrics")


def api_only(settings: Settings, store: Store, **kwargs: Any) -> DeliveryRuntime:
    return DeliveryRuntime(settings, store, run_dialer=False, run_notifier=False, **kwargs)


async def scrape(base: str) -> str:
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{base}/metrics")
    assert response.status_code == 200
    return response.text


async def test_delivery_metrics_appear_and_move(tmp_path: Path) -> None:
    delivery = DeliverySettings(
        prompt_dir=tone_clips(tmp_path / "clips"),
        prompt_cache_dir=tmp_path / "cache",
        prompt_repeat=1,
        poll_s=0.05,
        push_base_s=0.05,
        push_cap_s=0.1,
        push_poll_s=0.05,
        simulation=SimulationSettings(ring_after_s=0.01, answer_after_s=0.01),
    )
    settings = fixture_settings(tmp_path, delivery=delivery)  # dev mode: loopback callbacks
    async with run_receiver(Receiver("", failures=2)) as receiver:
        key = await new_account(settings, callback=receiver.url)
        receiver.apikey = key.apikey
        # No dialer yet: accepted calls wait in the queue.
        with serving(create_app(settings, migrate=False, delivery=api_only)) as base:
            async with AsyncClient(key.account, key.apikey, base_url=base + VOICE) as client:
                voiceids = [
                    (await client.send(mobile, "1125")).voiceid
                    for mobile in ("13800138000", "13900139000")
                ]
            before = await scrape(base)
        assert metric(before, "voiceotp_calls_queued") == 2
        assert metric(before, "voiceotp_calls_finished_total", status="ANSWERED") == 0
        assert metric(before, "voiceotp_dialer_calls_in_flight") == 0
        assert metric(before, "voiceotp_push_requests_total", result="failed") == 0

        # With a dialer and the status push: both calls are dialed and reported; the
        # receiver refuses the first two pushes.
        with serving(create_app(settings, migrate=False, delivery=DeliveryRuntime)) as base:
            while True:  # the test's timeout bounds this
                after = await scrape(base)
                if metric(after, "voiceotp_push_reports_total", result="delivered") == 2:
                    break
                await asyncio.sleep(0.05)
    assert sorted(r["voiceid"] for r in receiver.acknowledged) == sorted(voiceids)
    assert metric(after, "voiceotp_calls_queued") == 0
    assert metric(after, "voiceotp_calls_dialing") == 0
    assert metric(after, "voiceotp_calls_finished_total", status="ANSWERED") == 2
    assert metric(after, "voiceotp_calls_finished_total", status="BUSY") == 0
    assert metric(after, "voiceotp_push_requests_total", result="failed") == 2
    assert metric(after, "voiceotp_push_requests_total", result="ok") >= 1
    assert metric(after, "voiceotp_push_reports_total", result="retried") >= 2
    assert metric(after, "voiceotp_push_reports_total", result="abandoned") == 0
    assert metric(after, "voiceotp_push_outbox_reports", state="pending") == 0
    assert metric(after, "voiceotp_push_outbox_reports", state="abandoned") == 0


class RegisteringCarrier:
    """The simulated carrier behind a trunk that wants a registration (as SipDialer)."""

    name = "registering"

    def __init__(self) -> None:
        self.inner = SimulatedCarrier()
        self.registration_state = "off"

    async def start(self) -> None:
        self.registration_state = "registered"

    async def dial(self, call: CallRequest) -> CallOutcome:
        return await self.inner.dial(call)

    async def aclose(self) -> None:
        self.registration_state = "unregistered"
        await self.inner.aclose()


async def test_the_dialer_starts_at_boot_and_its_registration_is_a_metric(
    tmp_path: Path,
) -> None:
    delivery = DeliverySettings(
        prompt_dir=tone_clips(tmp_path / "clips"), prompt_cache_dir=tmp_path / "cache"
    )
    settings = fixture_settings(tmp_path, delivery=delivery)
    await new_account(settings)  # the store exists
    carrier = RegisteringCarrier()

    def runtime(settings: Settings, store: Store, **kwargs: Any) -> DeliveryRuntime:
        return DeliveryRuntime(settings, store, dialer=carrier, **kwargs)

    with serving(create_app(settings, migrate=False, delivery=runtime)) as base:
        text = await scrape(base)  # no call placed: registered at start
    assert metric(text, "voiceotp_sip_registration", state="registered") == 1
    assert metric(text, "voiceotp_sip_registration", state="off") == 0
    assert carrier.registration_state == "unregistered"  # closed at the stop
