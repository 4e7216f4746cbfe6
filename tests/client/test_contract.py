"""One contract, every transport: memory (sync/async), HTTP (sync/async) and ASGI all
give the same answers and the same "was it sent?" decisions against the same fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from typing import Any

import pytest

from tests.client.conftest import FAST_RETRY, Twin
from voiceotp.client import (
    ASGITransport,
    AsyncClient,
    AsyncMemoryTransport,
    Client,
    MemoryTransport,
    Timeout,
)
from voiceotp.protocol import Format
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

MOBILE = "13800138000"
Connect = Callable[..., Twin]


@pytest.fixture(params=["memory-sync", "memory-async", "http-sync", "http-async", "asgi"])
async def connect(request: pytest.FixtureRequest) -> AsyncIterator[Connect]:
    """``connect(fake, **client_kwargs)``: a client on ``fake`` over the param's transport."""
    twins: list[Twin] = []
    with ExitStack() as servers:

        def make(fake: FakeIhuyi, **kwargs: Any) -> Twin:
            kwargs.setdefault("retry", FAST_RETRY)
            kind = request.param
            if kind.startswith("http"):
                kwargs["base_url"] = servers.enter_context(fake.serve()).url
            elif kind == "memory-sync":
                kwargs["transport"] = MemoryTransport(fake.handle_post)
            elif kind == "memory-async":
                kwargs["transport"] = AsyncMemoryTransport(fake.handle_post)
            else:
                kwargs["transport"] = ASGITransport(fake.asgi_app())
            cls = Client if kind in ("memory-sync", "http-sync") else AsyncClient
            twins.append(Twin(cls(DEFAULT_ACCOUNT, DEFAULT_APIKEY, **kwargs)))
            return twins[-1]

        yield make
        for twin in twins:
            await twin.close()


@pytest.mark.parametrize("fmt", [Format.XML, Format.JSON])
async def test_send_balance_query(connect: Connect, fmt: Format) -> None:
    fake = FakeIhuyi()
    twin = connect(fake, format=fmt)
    result = await twin.send("+86 138-0013-8000", "1234")
    assert result.voiceid == fake.calls[0].voiceid
    assert await twin.balance() == 99
    assert (await twin.query(result.voiceid)).status == "ANSWERED"


async def test_transient_code_is_retried(connect: Connect) -> None:
    fake = FakeIhuyi()
    fake.script(MOBILE, 4090)
    report = await connect(fake).submit(MOBILE, "1234")
    assert (report.ok, report.attempts, fake.submits[MOBILE]) == (True, 2, 1)


async def test_lost_answer_is_unknown_and_sent_once(connect: Connect) -> None:
    fake = FakeIhuyi()
    fake.lose_responses(MOBILE)
    report = await connect(fake).submit(MOBILE, "1234")
    assert report.outcome_unknown
    assert (report.attempts, fake.received[MOBILE], fake.submits[MOBILE]) == (1, 1, 1)


async def test_slow_answer_is_unknown_and_sent_once(connect: Connect) -> None:
    fake = FakeIhuyi(latency=0.3)
    twin = connect(fake, timeout=Timeout(connect=1.0, read=0.05, total=1.0))
    report = await twin.submit(MOBILE, "1234")
    assert report.outcome_unknown
    assert (report.attempts, fake.received[MOBILE], fake.submits[MOBILE]) == (1, 1, 1)


async def test_deduping_server_replay(connect: Connect) -> None:
    fake = FakeIhuyi(dedupe=True)
    fake.lose_responses(MOBILE)
    report = await connect(fake, server_dedupes=True).submit(MOBILE, "1234")
    assert report.ok
    assert report.voiceid == fake.calls[0].voiceid
    assert (report.attempts, fake.received[MOBILE], fake.submits[MOBILE]) == (2, 2, 1)
