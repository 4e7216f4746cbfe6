"""Verify end to end: client -> gateway -> delivery (relay dialer) -> an upstream fake,
which hears the code the gateway made up; Check then passes, and the sealed copy of the
code is gone once the call ended."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.gateway.harness import fixture_settings, serving
from tests.integration.helpers import new_account, tone_clips
from voiceotp import errors
from voiceotp.client import AsyncClient
from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.dialer.relay import Upstream
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.gateway import create_app
from voiceotp.store import make_store
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

pytestmark = pytest.mark.timeout(60)
VOICE = "/webservice/voice.php"
MOBILE = "13800138000"


async def test_the_dialer_speaks_the_code_check_accepts_it(tmp_path: Path) -> None:
    carrier = FakeIhuyi()
    async with carrier.serve() as upstream:
        delivery = DeliverySettings(
            dialer="relay",
            upstreams=(Upstream("up", upstream.url, DEFAULT_ACCOUNT, DEFAULT_APIKEY),),
            prompt_dir=tone_clips(tmp_path / "clips"),
            prompt_cache_dir=tmp_path / "cache",
            poll_s=0.1,
        )
        settings = fixture_settings(tmp_path, delivery=delivery)
        key = await new_account(settings, balance=5)
        with serving(create_app(settings, migrate=False, delivery=DeliveryRuntime)) as base:
            async with AsyncClient(key.account, key.apikey, base_url=base + VOICE) as client:
                sent = await client.verify(MOBILE, length=6)
                for _ in range(400):
                    if (await client.query(sent.voiceid)).status not in ("QUEUED", "DIALING"):
                        break
                    await asyncio.sleep(0.05)
                [heard] = carrier.calls
                with pytest.raises(errors.WrongCode):
                    await client.check(MOBILE, f"{(int(heard.content) + 1) % 10**6:06d}")
                assert (await client.check(MOBILE, heard.content)).voiceid == sent.voiceid
                status = await client.query(sent.voiceid)
    assert (status.status, status.verify_status) == ("RELAYED", "verified")
    assert len(heard.content) == 6
    store = make_store(settings)
    await store.open()
    try:
        rows = await store.read("SELECT code_enc, code_mac FROM verifications")
        calls = await store.read("SELECT content FROM calls")
    finally:
        await store.close()
    assert rows[0][0] is None  # the sealed copy was erased when the call ended
    assert heard.content not in str(rows[0][1])
    assert [tuple(c) for c in calls] == [("",)]  # the call row holds no code
