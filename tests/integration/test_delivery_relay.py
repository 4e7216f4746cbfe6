"""Relay through the gateway: client -> gateway (dialer = relay) -> ihuyi-compatible
upstreams (voiceotp.testing over HTTP). A dead first upstream fails over; a lost response
ends the call FAILED and is never handed to another upstream."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from tests.gateway.harness import VOICE, fixture_settings, serving
from tests.integration.helpers import new_account, tone_clips
from voiceotp.client import AsyncClient
from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.dialer.relay import Upstream
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.gateway import create_app
from voiceotp.store import make_store
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

pytestmark = pytest.mark.timeout(60)
RELAYED, LOST = "13800138000", "13900139000"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def upstream(name: str, url: str) -> Upstream:
    return Upstream(name, url, DEFAULT_ACCOUNT, DEFAULT_APIKEY)


async def test_relay_fails_over_only_when_nothing_was_sent(tmp_path: Path) -> None:
    first, second = FakeIhuyi(), FakeIhuyi()
    first.lose_responses(LOST)
    async with first.serve() as one, second.serve() as two:
        dead = f"http://127.0.0.1:{closed_port()}{VOICE}"
        delivery = DeliverySettings(
            dialer="relay",
            upstreams=(upstream("dead", dead), upstream("one", one.url), upstream("two", two.url)),
            prompt_dir=tone_clips(tmp_path / "clips"),
            prompt_cache_dir=tmp_path / "cache",
            poll_s=0.1,
        )
        settings = fixture_settings(tmp_path, delivery=delivery, refund_unconnected=True)
        key = await new_account(settings, balance=5)
        with serving(create_app(settings, migrate=False, delivery=DeliveryRuntime)) as base:
            async with AsyncClient(key.account, key.apikey, base_url=base + VOICE) as client:
                ids = {m: (await client.send(m, "4711")).voiceid for m in (RELAYED, LOST)}
                for _ in range(400):
                    statuses = {m: (await client.query(v)).status for m, v in ids.items()}  # type: ignore[arg-type]
                    if all(s not in ("QUEUED", "DIALING") for s in statuses.values()):
                        break
                    await asyncio.sleep(0.05)
                balance = await client.balance()

    assert statuses == {RELAYED: "RELAYED", LOST: "FAILED"}
    assert sorted((c.mobile, c.content) for c in first.calls) == [(RELAYED, "4711"), (LOST, "4711")]
    assert second.calls == []  # the lost response was not failed over
    assert balance == 5 - 1  # relayed is billable; the failed call was refunded
    store = make_store(settings)
    await store.open()
    try:
        [relayed] = await SqlFence(store).attempts(str(ids[RELAYED]))
        [lost] = await SqlFence(store).attempts(str(ids[LOST]))
    finally:
        await store.close()
    assert relayed.detail.startswith("relayed to one as ")
    assert "one: UnknownOutcome" in lost.detail
