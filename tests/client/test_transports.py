"""Each transport's "was it sent?" decision: ConnectError (never left, safe to retry)
versus UnknownOutcome (may have been accepted)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.client.test_http import closed_port_url
from voiceotp.client import (
    AiohttpTransport,
    ASGITransport,
    AsyncClient,
    AsyncMemoryTransport,
    HTTPXTransport,
    MemoryReply,
    MemoryTransport,
    Timeout,
)
from voiceotp.client.transports import encode_form
from voiceotp.errors import ConnectError, UnknownOutcome
from voiceotp.protocol import parse_urlencoded
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi, FakeServer

FORM = {"account": "V1", "password": "p", "mobile": "13800138000", "content": "1234"}
QUICK = Timeout(connect=1.0, read=0.2, total=2.0)


@pytest.fixture
def fake() -> FakeIhuyi:
    return FakeIhuyi()


@pytest.fixture
def server(fake: FakeIhuyi) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


def submit_url(server: FakeServer) -> str:
    return server.url + "?method=Submit"


# ---- aiohttp -----------------------------------------------------------------------


async def test_aiohttp_refused_is_connect_error() -> None:
    async with AiohttpTransport() as transport:
        with pytest.raises(ConnectError):
            await transport.post(closed_port_url(), FORM, QUICK)


async def test_aiohttp_invalid_url_is_connect_error() -> None:
    async with AiohttpTransport() as transport:
        with pytest.raises(ConnectError):
            await transport.post("http://", FORM, QUICK)


async def test_aiohttp_slow_answer_is_unknown(fake: FakeIhuyi, server: FakeServer) -> None:
    fake.latency = 0.3
    async with AiohttpTransport() as transport:
        with pytest.raises(UnknownOutcome) as caught:
            await transport.post(submit_url(server), FORM, QUICK)
    assert caught.value.__cause__ is not None


async def test_aiohttp_dropped_is_unknown(fake: FakeIhuyi, server: FakeServer) -> None:
    fake.lose_responses("13800138000")
    async with AiohttpTransport() as transport:
        with pytest.raises(UnknownOutcome):
            await transport.post(
                submit_url(server),
                {**FORM, "account": DEFAULT_ACCOUNT, "password": DEFAULT_APIKEY},
                QUICK,
            )
    assert fake.submits["13800138000"] == 1


async def test_aiohttp_waiting_for_a_pooled_connection_is_connect_error(
    fake: FakeIhuyi, server: FakeServer
) -> None:
    fake.latency = 0.3
    async with AiohttpTransport(limit=1) as transport:
        slow = asyncio.create_task(transport.post(submit_url(server), FORM, Timeout(1, 1, 1)))
        while fake.requests == 0:  # wait until the only connection is busy
            await asyncio.sleep(0.01)
        with pytest.raises(ConnectError):
            await transport.post(submit_url(server), FORM, Timeout(connect=0.05, read=1, total=1))
        await slow
    assert fake.requests == 1  # the second request never reached the server


# ---- httpx2 ------------------------------------------------------------------------


def test_httpx_refused_is_connect_error() -> None:
    with HTTPXTransport() as transport, pytest.raises(ConnectError):
        transport.post(closed_port_url(), FORM, QUICK)


def test_httpx_slow_answer_is_unknown(fake: FakeIhuyi, server: FakeServer) -> None:
    fake.latency = 0.3
    with HTTPXTransport() as transport, pytest.raises(UnknownOutcome):
        transport.post(submit_url(server), FORM, QUICK)


def test_httpx_dropped_is_unknown(fake: FakeIhuyi, server: FakeServer) -> None:
    fake.lose_responses("13800138000")
    form = {**FORM, "account": DEFAULT_ACCOUNT, "password": DEFAULT_APIKEY}
    with HTTPXTransport() as transport, pytest.raises(UnknownOutcome):
        transport.post(submit_url(server), form, QUICK)
    assert fake.submits["13800138000"] == 1


def test_httpx_waiting_for_a_pooled_connection_is_connect_error(
    fake: FakeIhuyi, server: FakeServer
) -> None:
    import httpx2

    fake.latency = 0.3
    with HTTPXTransport(limits=httpx2.Limits(max_connections=1)) as transport:
        slow = threading.Thread(
            target=transport.post, args=(submit_url(server), FORM, Timeout(1, 1, 1))
        )
        slow.start()
        while fake.requests == 0:  # wait until the only connection is busy
            threading.Event().wait(0.01)
        with pytest.raises(ConnectError):
            transport.post(submit_url(server), FORM, Timeout(connect=0.05, read=1, total=1))
        slow.join()
    assert fake.requests == 1


# ---- in memory ---------------------------------------------------------------------


def test_memory_transport_decisions() -> None:
    def refuse(url: str, form: object) -> bytes:
        raise ConnectError("refused")

    with pytest.raises(ConnectError):
        MemoryTransport(refuse).post("x", FORM, QUICK)
    with pytest.raises(UnknownOutcome, match="dropped"):
        MemoryTransport(lambda u, f: MemoryReply(b"ok", dropped=True)).post("x", FORM, QUICK)
    with pytest.raises(UnknownOutcome, match="timeout"):
        MemoryTransport(lambda u, f: MemoryReply(b"ok", delay_s=0.5)).post("x", FORM, QUICK)
    assert MemoryTransport(lambda u, f: b"ok").post("x", FORM, QUICK) == b"ok"


async def test_async_memory_transport_accepts_coroutine_handlers() -> None:
    async def handler(url: str, form: object) -> bytes:
        return b"ok"

    assert await AsyncMemoryTransport(handler).post("x", FORM, QUICK) == b"ok"
    with pytest.raises(UnknownOutcome):
        await AsyncMemoryTransport(lambda u, f: MemoryReply(delay_s=0.5)).post("x", FORM, QUICK)


# ---- ASGI ---------------------------------------------------------------------------


def fake_app(fake: FakeIhuyi, fail: bool = False, delay: float = 0.0) -> Any:
    """A minimal ASGI app in front of the fake, as the gateway will be."""

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        assert dict(scope["headers"])[b"content-type"] == b"application/x-www-form-urlencoded"
        message = await receive()
        if fail:
            raise RuntimeError("boom")
        await asyncio.sleep(delay)
        query = parse_urlencoded(scope["query_string"])
        reply = fake.handle(query, parse_urlencoded(message["body"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": reply.body})

    return app


async def test_asgi_transport_drives_a_client(fake: FakeIhuyi) -> None:
    transport = ASGITransport(fake_app(fake), client=("10.0.0.7", 1234))
    async with AsyncClient(DEFAULT_ACCOUNT, DEFAULT_APIKEY, transport=transport) as client:
        result = await client.send("13800138000", "1234")
        assert await client.balance() == 99
    assert result.voiceid == fake.calls[0].voiceid


async def test_asgi_app_errors_propagate_or_become_unknown(fake: FakeIhuyi) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        await ASGITransport(fake_app(fake, fail=True)).post("http://t/?method=Submit", FORM, QUICK)
    transport = ASGITransport(fake_app(fake, fail=True), raise_app_exceptions=False)
    with pytest.raises(UnknownOutcome):
        await transport.post("http://t/?method=Submit", FORM, QUICK)


async def test_asgi_timeout_is_unknown(fake: FakeIhuyi) -> None:
    transport = ASGITransport(fake_app(fake, delay=0.5))
    with pytest.raises(UnknownOutcome, match="timeout"):
        await transport.post("http://t/?method=Submit", FORM, QUICK)


# ---- the form encoding -------------------------------------------------------------


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=12), max_size=5))
def test_encode_form_matches_urlencode(form: dict[str, str]) -> None:
    assert encode_form(form) == urlencode(form).encode()
