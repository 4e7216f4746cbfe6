"""A Submit given up while its per-number cap reservation waits in a TurnBatch (the
request's task cancelled: a shutdown's grace period ending, a caller's timeout) leaves no
slot behind: the script reserves it for the whole turn, and before, nobody gave back the
reservation of a caller that no longer waited, so the number stayed capped (4081 for a
minute, a slot of its 24 h) for a Submit that was never accepted."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import redis.asyncio

from tests.gateway.harness import FIXTURE
from tests.gateway.test_redis_caps import REDIS_URL, prefix
from voiceotp.gateway.settings import NumberCaps
from voiceotp.gateway.submit.limits import RedisNumberCaps, Reservation

__all__ = ["prefix"]
pytestmark = [pytest.mark.redis, pytest.mark.timeout(30)]
NOW = float(FIXTURE["now"])
ONE_A_MINUTE = NumberCaps(per_minute=1, per_hour=0, per_24h=0)


async def test_a_cancelled_reservation_gives_its_slot_back(prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    caps = RedisNumberCaps(client, prefix)
    batch = caps._reserve
    send, sent = batch._send, asyncio.Event()

    async def sending(items: Any) -> Any:
        sent.set()  # the turn's script is on its way to Redis
        return await send(items)

    batch._send = sending
    try:
        other = asyncio.ensure_future(caps.reserve(1, "13900139000", NOW, ONE_A_MINUTE))
        gone = asyncio.ensure_future(caps.reserve(1, "13800138000", NOW, ONE_A_MINUTE))
        await sent.wait()  # both are in the batch, which is in flight
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone
        assert isinstance(await other, Reservation)  # the batch itself went through
        await caps.drain()  # what the batch left to give back is given back
        assert await client.zcard(f"{prefix}caps:1:13800138000") == 0
        again = await caps.reserve(1, "13800138000", NOW + 1, ONE_A_MINUTE)
        assert isinstance(again, Reservation), again
    finally:
        await client.aclose()
