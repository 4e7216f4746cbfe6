"""End to end: AsyncClient -> gateway (uvicorn, real HTTP) -> store queue -> SipDialer ->
a real sipp answering -> RTP matches the rendered prompt -> call record ANSWERED (and Query
says so) -> a signed status report, delivered on the third try."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.delivery.dialer.rtpcheck import correlation, drain, reassemble
from tests.delivery.dialer.sipp import Sipp
from tests.delivery.queue.sqlstores import sql_settings
from tests.gateway.harness import VOICE, fixture_settings, serving
from tests.integration.helpers import Receiver, new_account, run_receiver, tone_clips
from voiceotp.client import AsyncClient
from voiceotp.delivery.audio import PromptLibrary
from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.dialer.sip import SipTrunk
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.gateway import create_app
from voiceotp.store import make_store

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(90)]
MOBILE, CODE = "13800138000", "2580"


async def wait_for(
    condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30.0
) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not await condition():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Empty (SQLite in the data dir), or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return ""
    return sql_settings(request, "postgres", tmp_path).database_url


async def test_submit_is_dialed_heard_recorded_and_reported(
    tmp_path: Path,
    database_url: str,
    sipp: Callable[..., Sipp],
    rtp_sink: socket.socket,
) -> None:
    far_end = sipp(
        "answer", variables={"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    )
    clips = tone_clips(tmp_path / "clips")
    delivery = DeliverySettings(
        dialer="sip",
        trunk=SipTrunk(host="127.0.0.1", port=far_end.port, codecs=("PCMU",)),
        prompt_dir=clips,
        prompt_cache_dir=tmp_path / "cache",
        prompt_repeat=1,
        ring_timeout_s=5,
        max_duration_s=20,
        poll_s=0.1,
        push_base_s=0.1,
        push_cap_s=0.5,
        push_poll_s=0.05,
    )
    settings = fixture_settings(tmp_path, delivery=delivery, database_url=database_url)
    async with run_receiver(Receiver(apikey="")) as receiver:
        key = await new_account(settings, callback=receiver.url)
        receiver.apikey = key.apikey
        app = create_app(settings, migrate=False, delivery=DeliveryRuntime)
        with serving(app) as base:
            async with AsyncClient(key.account, key.apikey, base_url=base + VOICE) as client:
                voiceid = (await client.send(MOBILE, CODE)).voiceid
                assert voiceid is not None

                async def answered() -> bool:
                    return (await client.query(voiceid)).status == "ANSWERED"

                await wait_for(answered, "Query to say ANSWERED")
                result = await client.query(voiceid)

            async def acknowledged() -> bool:
                return bool(receiver.acknowledged)

            await wait_for(acknowledged, "the acknowledged push")
        assert far_end.wait(20) == 0, far_end.errors()

    assert (result.sip_code, result.attempts) == (200, 1)
    assert result.duration >= 1
    # What arrived at the callee's RTP port is the prompt the gateway renders for the code.
    expected = PromptLibrary(directories={"zh": clips}, cache_dir=tmp_path / "cache")
    sent = expected.render(CODE, "zh", repeat=1).rtp_audio["PCMU"]
    packets = drain(rtp_sink)
    assert len(packets) == len(sent) // 160
    assert correlation("PCMU", sent, reassemble(packets)) >= 0.99
    # The call record of the attempt, as stored.
    store = make_store(settings)
    await store.open()
    try:
        [record] = await SqlFence(store).attempts(voiceid)
    finally:
        await store.close()
    assert (record.status, record.sip_code, record.q850) == ("ANSWERED", 200, 16)
    assert record.invite_at is not None
    assert record.answer_at is not None
    assert record.end_at is not None
    assert record.submit_at <= record.invite_at <= record.answer_at <= record.end_at
    # Two failed pushes, then the same signed report acknowledged.
    assert [(status, valid) for status, valid, _ in receiver.pushes] == [
        (500, True),
        (500, True),
        (204, True),
    ]
    [report] = receiver.acknowledged
    assert (report["report_id"], report["voiceid"], report["status"]) == (
        f"{voiceid}-1",
        voiceid,
        "ANSWERED",
    )
    assert report["sip_code"] == 200
