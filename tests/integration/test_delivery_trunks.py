"""End to end with several trunks: a Submit through the gateway is refused by trunk a
(503, nothing rang), placed on trunk b (a real sipp answering), recorded with both trunks
in the attempt's detail, and /metrics shows each trunk's health."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.delivery.dialer.sipp import Sipp
from tests.gateway.harness import VOICE, fixture_settings, serving
from tests.integration.helpers import new_account, tone_clips
from tests.integration.test_delivery_metrics import metric, scrape
from tests.integration.test_delivery_sipp import wait_for
from voiceotp.client import AsyncClient
from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.dialer.sip import SipTrunk
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.gateway import create_app
from voiceotp.store import make_store

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(90)]


async def test_a_refusing_trunk_fails_over_to_the_next_end_to_end(
    tmp_path: Path, sipp: Callable[..., Sipp], rtp_sink: socket.socket
) -> None:
    refusing = sipp("unavailable")
    answering = sipp(
        "answer", variables={"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    )
    trunks = tuple(
        SipTrunk(name=name, host="127.0.0.1", port=far.port, priority=n, options_interval_s=0)
        for n, (name, far) in enumerate((("a", refusing), ("b", answering)))
    )
    delivery = DeliverySettings(
        dialer="sip",
        trunks=trunks,
        prompt_dir=tone_clips(tmp_path / "clips"),
        prompt_cache_dir=tmp_path / "cache",
        prompt_repeat=1,
        ring_timeout_s=5,
        max_duration_s=20,
        poll_s=0.1,
    )
    settings = fixture_settings(tmp_path, delivery=delivery)
    key = await new_account(settings)
    app = create_app(settings, migrate=False, delivery=DeliveryRuntime)
    with serving(app) as base:
        async with AsyncClient(key.account, key.apikey, base_url=base + VOICE) as client:
            voiceid = (await client.send("13800138000", "2580")).voiceid
            assert voiceid is not None

            async def answered() -> bool:
                return (await client.query(voiceid)).status == "ANSWERED"

            await wait_for(answered, "Query to say ANSWERED")
        text = await scrape(base)
    assert refusing.wait(20) == 0, refusing.errors()  # it got the ACK of its 503
    assert answering.wait(20) == 0, answering.errors()

    assert metric(text, "voiceotp_sip_trunk_up", trunk="a") == 1  # no pings: a stays up
    assert metric(text, "voiceotp_sip_trunk_up", trunk="b") == 1
    store = make_store(settings)
    await store.open()
    try:
        [record] = await SqlFence(store).attempts(voiceid)  # one attempt: failover is inside it
    finally:
        await store.close()
    assert (record.status, record.sip_code, record.dialer) == ("ANSWERED", 200, "sip:b")
    assert record.detail.startswith("trunk a: 503 Service Unavailable; trunk b: played")
