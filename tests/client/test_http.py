"""Both clients over real HTTP against FakeIhuyi served on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.client.conftest import MakeTwin
from voiceotp import errors
from voiceotp.client import Timeout
from voiceotp.protocol import Format
from voiceotp.testing import FakeIhuyi, FakeServer

MOBILE = "13800138000"


@pytest.fixture
def server(fake: FakeIhuyi) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/webservice/voice.php"  # nothing listens there now


@pytest.mark.parametrize("fmt", [Format.XML, Format.JSON])
async def test_send_balance_query(
    make_twin: MakeTwin, fake: FakeIhuyi, server: FakeServer, fmt: Format
) -> None:
    twin = make_twin(base_url=server.url, format=fmt)
    result = await twin.send("+86 138 0013 8000", "1234")
    assert result.voiceid == fake.calls[0].voiceid
    assert await twin.balance() == 99
    assert (await twin.query(result.voiceid)).status == "ANSWERED"
    assert fake.submits[MOBILE] == 1


async def test_read_timeout_is_unknown_and_not_resent(
    make_twin: MakeTwin, fake: FakeIhuyi, server: FakeServer
) -> None:
    fake.latency = 0.3
    twin = make_twin(base_url=server.url, timeout=Timeout(connect=1.0, read=0.1, total=1.0))
    report = await twin.submit(MOBILE, "1234")
    assert report.outcome_unknown
    assert report.attempts == 1
    assert fake.received[MOBILE] == 1
    assert fake.submits[MOBILE] == 1  # it was accepted: the user's phone rings once


async def test_total_timeout_is_unknown(
    make_twin: MakeTwin, fake: FakeIhuyi, server: FakeServer
) -> None:
    fake.latency = 0.3
    report = await make_twin(base_url=server.url, timeout=0.1).submit(MOBILE, "1234")
    assert report.outcome_unknown
    assert fake.received[MOBILE] == 1


async def test_dropped_connection_is_unknown_and_not_resent(
    make_twin: MakeTwin, fake: FakeIhuyi, server: FakeServer
) -> None:
    fake.lose_responses(MOBILE)
    report = await make_twin(base_url=server.url).submit(MOBILE, "1234")
    assert report.outcome_unknown
    assert fake.received[MOBILE] == 1
    assert fake.submits[MOBILE] == 1


async def test_dedupe_over_http(make_twin: MakeTwin) -> None:
    fake = FakeIhuyi(dedupe=True)
    fake.lose_responses(MOBILE)
    with fake.serve() as server:
        report = await make_twin(base_url=server.url, server_dedupes=True).submit(MOBILE, "1234")
    assert report.ok
    assert report.attempts == 2
    assert report.voiceid == fake.calls[0].voiceid
    assert fake.submits[MOBILE] == 1


async def test_refused_connection_is_a_connect_error_after_retries(make_twin: MakeTwin) -> None:
    report = await make_twin(base_url=closed_port_url()).submit(MOBILE, "1234")
    assert isinstance(report.error, errors.ConnectError)
    assert not report.outcome_unknown
    assert report.attempts == 3


async def test_send_raises_connect_error(make_twin: MakeTwin) -> None:
    with pytest.raises(errors.ConnectError) as caught:
        await make_twin(base_url=closed_port_url()).send(MOBILE, "1234")
    assert caught.value.__cause__ is not None  # chained from the HTTP library's error


async def test_proxy_option_is_passed_through(
    make_twin: MakeTwin, fake: FakeIhuyi, server: FakeServer
) -> None:
    # The fake doubles as a forward proxy: it serves absolute-form request lines, so the
    # unresolvable host proves the request went through the proxy.
    proxy = f"http://127.0.0.1:{server.port}"
    twin = make_twin(base_url="http://voice.invalid/webservice/voice.php", proxy=proxy)
    assert (await twin.send(MOBILE, "1234")).voiceid == fake.calls[0].voiceid


async def test_pool_and_tls_options_are_accepted(make_twin: MakeTwin, server: FakeServer) -> None:
    import httpx2

    twin = make_twin(base_url=server.url)
    options = (
        {"limit": 1, "ssl": False}
        if twin.is_async
        else {"limits": httpx2.Limits(max_connections=1), "verify": False}
    )
    twin = make_twin(base_url=server.url, **options)
    assert await twin.balance() == 100
