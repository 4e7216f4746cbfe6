"""RelayDialer against FakeIhuyi upstreams served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from tests.clock import FakeClock
from voiceotp.client import RetryPolicy
from voiceotp.delivery.dialer import CallRequest, CallStatus
from voiceotp.delivery.dialer.relay import RelayDialer, Upstream
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi, FakeServer

MOBILE = "13800138000"
ONE_SHOT = RetryPolicy.never()
FAST = RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_max_s=0.001)
Servers = tuple[FakeIhuyi, FakeServer, FakeIhuyi, FakeServer]


def _call(**changes: object) -> CallRequest:
    fields: dict[str, object] = {"call_id": "c1", "mobile": MOBILE, "audio": {}, "code": "1125"}
    fields.update(changes)
    return CallRequest(**fields)  # type: ignore[arg-type]


def _upstream(name: str, url: str, **flags: bool) -> Upstream:
    return Upstream(name, url, DEFAULT_ACCOUNT, DEFAULT_APIKEY, **flags)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/webservice/voice.php"


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    first, second = FakeIhuyi(), FakeIhuyi()
    async with first.serve() as one, second.serve() as two:
        yield first, one, second, two


async def _relay(*upstreams: Upstream, **options: object) -> RelayDialer:
    return RelayDialer(upstreams, **options)  # type: ignore[arg-type]


async def test_accepted_without_query_is_reported_relayed(servers: Servers) -> None:
    first, one, _second, _ = servers
    relay = await _relay(_upstream("a", one.url), retry=ONE_SHOT)
    outcome = await relay.dial(_call())
    await relay.aclose()
    assert outcome.status is CallStatus.RELAYED
    assert f"relayed to a as {first.calls[0].voiceid}" in outcome.detail
    assert first.calls[0].content == "1125"
    assert first.submits[MOBILE] == 1


async def test_query_upstream_is_polled_until_a_final_status(servers: Servers) -> None:
    first, one, _, _ = servers
    fake_time = FakeClock()

    def progress(n: int) -> None:
        first.statuses[first.calls[0].voiceid] = "DIALING" if n == 1 else "BUSY"

    fake_time.on_sleep = progress
    relay = await _relay(
        _upstream("a", one.url, supports_query=True),
        retry=ONE_SHOT,
        poll_interval_s=2.0,
        clock=fake_time.time,
        sleep=fake_time.sleep,
    )
    outcome = await relay.dial(_call())
    await relay.aclose()
    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.BUSY, 486, 17)
    assert fake_time.sleeps == [2.0, 2.0]  # one poll saw DIALING, the next BUSY


async def test_answered_upstream_call_carries_its_times(servers: Servers) -> None:
    first, one, _, _ = servers
    relay = await _relay(
        _upstream("a", one.url, supports_query=True), retry=ONE_SHOT, sleep=FakeClock().sleep
    )
    outcome = await relay.dial(_call())
    await relay.aclose()
    assert outcome.status is CallStatus.ANSWERED
    assert outcome.sip_code == 200
    assert outcome.duration_s == 12.0
    assert outcome.end_at == int(first.calls[0].accepted_at) + 12


async def test_poll_budget_is_bounded_then_relayed(servers: Servers) -> None:
    first, one, _, _ = servers
    fake_time = FakeClock()
    fake_time.on_sleep = lambda n: first.statuses.__setitem__(first.calls[0].voiceid, "DIALING")
    relay = await _relay(
        _upstream("a", one.url, supports_query=True),
        retry=ONE_SHOT,
        poll_interval_s=10.0,
        poll_extra_s=0.0,
        clock=fake_time.time,
        sleep=fake_time.sleep,
    )
    outcome = await relay.dial(_call(ring_timeout_s=30.0, max_duration_s=30.0))
    await relay.aclose()
    assert outcome.status is CallStatus.RELAYED
    assert "final status is unknown" in outcome.detail
    assert len(fake_time.sleeps) == 6  # 60 s budget / 10 s interval


async def test_fails_over_when_the_first_upstream_refuses_connections(servers: Servers) -> None:
    _, _, second, two = servers
    relay = await _relay(_upstream("down", _closed_port_url()), _upstream("b", two.url), retry=FAST)
    outcome = await relay.dial(_call())
    await relay.aclose()
    assert outcome.status is CallStatus.RELAYED
    assert "relayed to b" in outcome.detail
    assert outcome.dialer == "relay:b"  # the upstream that took the call, not the first
    assert relay.name == "relay:down,b"
    assert second.submits[MOBILE] == 1


@pytest.mark.parametrize("code", [4051, 0, 4090, 405, 4050])
async def test_fails_over_on_codes_that_prove_nothing_was_accepted(
    servers: Servers, code: int
) -> None:
    first, one, second, two = servers
    first.script(MOBILE, code)
    relay = await _relay(_upstream("a", one.url), _upstream("b", two.url), retry=ONE_SHOT)
    outcome = await relay.dial(_call())
    await relay.aclose()
    assert outcome.status is CallStatus.RELAYED
    assert "relayed to b" in outcome.detail
    assert (first.received[MOBILE], first.submits[MOBILE]) == (1, 0)
    assert second.submits[MOBILE] == 1


async def test_no_failover_after_a_lost_response(servers: Servers) -> None:
    first, one, second, two = servers
    first.lose_responses(MOBILE)
    relay = await _relay(_upstream("a", one.url), _upstream("b", two.url))
    outcome = await relay.dial(_call())
    await relay.aclose()
    assert outcome.status is CallStatus.FAILED
    assert "UnknownOutcome" in outcome.detail
    assert (first.received[MOBILE], first.submits[MOBILE]) == (1, 1)  # not re-sent either
    assert second.requests == 0
    assert not outcome.never_left  # it may be ringing: charged per the policy


async def test_lost_response_is_replayed_exactly_to_a_deduping_upstream() -> None:
    first, second = FakeIhuyi(dedupe=True), FakeIhuyi()
    first.lose_responses(MOBILE)
    retry = FAST
    async with first.serve() as one, second.serve() as two:
        relay = await _relay(
            _upstream("a", one.url, server_dedupes=True), _upstream("b", two.url), retry=retry
        )
        outcome = await relay.dial(_call())
        await relay.aclose()
    assert outcome.status is CallStatus.RELAYED
    assert f"as {first.calls[0].voiceid}" in outcome.detail  # the original voiceid
    assert (first.received[MOBILE], first.submits[MOBILE]) == (2, 1)
    assert second.requests == 0


@pytest.mark.parametrize("code", [4030, 4070, 4081])
async def test_refusals_of_this_call_do_not_fail_over(servers: Servers, code: int) -> None:
    first, one, second, two = servers
    first.script(MOBILE, code)
    relay = await _relay(_upstream("a", one.url), _upstream("b", two.url), retry=ONE_SHOT)
    outcome = await relay.dial(_call())
    await relay.aclose()
    assert outcome.status is CallStatus.FAILED
    assert f"code {code}" in outcome.detail
    assert second.requests == 0
    assert outcome.never_left  # refused with a code: nobody was called


async def test_every_upstream_refusing_fails_with_each_reason(servers: Servers) -> None:
    first, one, second, two = servers
    first.script(MOBILE, 4051)
    second.script(MOBILE, 4050)
    relay = await _relay(_upstream("a", one.url), _upstream("b", two.url), retry=ONE_SHOT)
    outcome = await relay.dial(_call())
    await relay.aclose()
    assert outcome.status is CallStatus.FAILED
    assert "a: code 4051" in outcome.detail
    assert "b: code 4050" in outcome.detail
    assert outcome.never_left  # refunded whatever the charge policy (the fence)


async def test_expired_call_is_never_sent(servers: Servers) -> None:
    first, one, _, _ = servers
    relay = await _relay(_upstream("a", one.url), clock=lambda: 2000.0)
    outcome = await relay.dial(_call(deadline=1000.0))
    await relay.aclose()
    assert outcome.status is CallStatus.EXPIRED
    assert first.requests == 0


async def test_closed_relay_cancels_and_code_is_required(servers: Servers) -> None:
    first, one, _, _ = servers
    relay = await _relay(_upstream("a", one.url))
    with pytest.raises(ValueError, match="code"):
        await relay.dial(_call(code=None))
    await relay.aclose()
    assert (await relay.dial(_call())).status is CallStatus.CANCELED
    assert first.requests == 0


async def test_closing_the_relay_stops_polling_and_reports_relayed(servers: Servers) -> None:
    first, one, _, _ = servers
    relay = await _relay(
        _upstream("a", one.url, supports_query=True), retry=ONE_SHOT, poll_interval_s=3600.0
    )
    dialing = asyncio.create_task(relay.dial(_call()))
    while not first.calls:
        await asyncio.sleep(0.01)
    await relay.aclose()  # returns only after the dial in flight has ended
    outcome = dialing.result()
    assert outcome.status is CallStatus.RELAYED
    assert "relay closed" in outcome.detail
