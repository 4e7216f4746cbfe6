"""Several trunks against real sipps, one per trunk on its own loopback port: failover
only when the callee provably was not reached, OPTIONS health taking a silent trunk out
and putting it back, priority and weight, per-trunk concurrency."""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from tests.delivery.dialer.conftest import make_audio
from tests.delivery.dialer.contract import check_dialer
from tests.delivery.dialer.sipp import Sipp, free_udp_port
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipTrunk, SipTrunkGroup
from voiceotp.delivery.dialer.sip.message import SipMessage

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(90)]
MOBILE = "13800138000"
StartSipp = Callable[..., Sipp]


def trunk(name: str, port: int, **options: object) -> SipTrunk:
    """A trunk on loopback; no pings unless the test asks (they would reach the sipps)."""
    settings: dict[str, object] = {"t1_s": 0.05, "options_interval_s": 0.0, **options}
    return SipTrunk(name=name, host="127.0.0.1", port=port, **settings)  # type: ignore[arg-type]


def answering(
    sipp: StartSipp, rtp_sink: socket.socket, scenario: str = "answer", **kw: object
) -> Sipp:
    variables = {"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    return sipp(scenario, variables=variables, **kw)


def request(n: int = 1, seconds: float = 0.2) -> CallRequest:
    return CallRequest(f"v-trunks-{n}", MOBILE, make_audio(seconds))


def invites(process: Sipp) -> list[SipMessage]:
    return [m for m in process.received() if m.method == "INVITE"]


def finish(*processes: Sipp) -> None:
    for process in processes:
        code = process.wait(20)
        assert code == 0, f"sipp failed:\n{process.errors()}\n{process.messages()[-3000:]}"


def trunks_tried(outcome: CallOutcome) -> list[str]:
    return [
        part.split(":")[0].removeprefix("trunk ")
        for part in outcome.detail.split("; ")
        if part.startswith("trunk ")
    ]


@pytest.fixture
def silent_port() -> Iterator[socket.socket]:
    """A UDP port that receives and never answers: a trunk that stopped answering."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


async def dial_once(group: SipTrunkGroup, call: CallRequest) -> CallOutcome:
    try:
        return await group.dial(call)
    finally:
        await group.aclose()


def test_a_group_is_a_dialer() -> None:
    check_dialer(SipTrunkGroup([trunk("a", 5060), trunk("b", 5062)]))


async def test_a_503_without_ringing_fails_over_to_the_next_trunk(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    a = sipp("unavailable")
    b = answering(sipp, rtp_sink)
    group = SipTrunkGroup([trunk("a", a.port, priority=0), trunk("b", b.port, priority=1)])
    outcome = await dial_once(group, request())
    finish(a, b)  # a got the ACK of its 503

    assert (outcome.status, outcome.sip_code) == (CallStatus.ANSWERED, 200)
    assert trunks_tried(outcome) == ["a", "b"]
    assert outcome.detail.startswith("trunk a: 503 Service Unavailable; trunk b: played")
    assert outcome.dialer == "sip:b"  # the call record names the trunk that took it
    assert outcome.media is not None  # trunk b's RTP figures reach the record
    assert not outcome.never_left  # both trunks were asked
    (first,), (second,) = invites(a), invites(b)
    assert first.call_id != second.call_id  # a new call on the second trunk


async def test_a_tagged_180_then_486_is_the_callee_and_never_fails_over(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    a = sipp("ringing_busy")
    b = answering(sipp, rtp_sink)
    group = SipTrunkGroup([trunk("a", a.port, priority=0), trunk("b", b.port, priority=1)])
    outcome = await dial_once(group, request())
    finish(a)

    assert (outcome.status, outcome.sip_code) == (CallStatus.BUSY, 486)
    assert trunks_tried(outcome) == ["a"]
    assert invites(b) == []  # the callee was reached once: never rung again elsewhere


async def test_a_busy_without_ringing_is_still_the_callee(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    a = sipp("busy")  # 100 Trying, then 486: no tagged 1xx, but 486 is the callee's answer
    b = answering(sipp, rtp_sink)
    group = SipTrunkGroup([trunk("a", a.port, priority=0), trunk("b", b.port, priority=1)])
    outcome = await dial_once(group, request())
    finish(a)

    assert outcome.status is CallStatus.BUSY
    assert invites(b) == []


async def test_a_silent_trunk_fails_over_after_timer_b(
    sipp: StartSipp, rtp_sink: socket.socket, silent_port: socket.socket
) -> None:
    b = answering(sipp, rtp_sink)
    silent = silent_port.getsockname()[1]
    group = SipTrunkGroup([trunk("a", silent, priority=0), trunk("b", b.port, priority=1)])
    outcome = await dial_once(group, request())
    finish(b)

    assert outcome.status is CallStatus.ANSWERED
    assert outcome.detail.startswith("trunk a: no response from the trunk (Timer B); trunk b:")
    silent_port.setblocking(False)
    assert silent_port.recv(65535).startswith(b"INVITE ")  # a really was tried first


async def test_a_refused_trunk_fails_over_at_once(sipp: StartSipp, rtp_sink: socket.socket) -> None:
    b = answering(sipp, rtp_sink)
    nobody = free_udp_port()  # ICMP port unreachable
    group = SipTrunkGroup([trunk("a", nobody, t1_s=2.0), trunk("b", b.port, priority=1)])
    outcome = await asyncio.wait_for(dial_once(group, request()), 30)  # not Timer B (128 s)
    finish(b)

    assert outcome.status is CallStatus.ANSWERED
    assert outcome.detail.startswith("trunk a: trunk unreachable: the network refused")


async def test_when_every_trunk_fails_the_last_answer_is_the_outcome(sipp: StartSipp) -> None:
    a, b = sipp("unavailable"), sipp("unavailable")
    group = SipTrunkGroup([trunk("a", a.port), trunk("b", b.port, priority=1)])
    outcome = await dial_once(group, request())
    finish(a, b)

    assert (outcome.status, outcome.sip_code) == (CallStatus.FAILED, 503)
    assert trunks_tried(outcome) == ["a", "b"]  # each trunk once
    assert not outcome.never_left  # both were asked


async def test_a_silent_trunk_is_taken_out_by_pings_and_put_back(
    sipp: StartSipp, rtp_sink: socket.socket, silent_port: socket.socket
) -> None:
    a_port = silent_port.getsockname()[1]
    b = answering(sipp, rtp_sink, calls=1)
    pings = {"options_interval_s": 0.1, "options_timeout_s": 0.3, "down_after": 2, "up_after": 2}
    group = SipTrunkGroup([trunk("a", a_port, priority=0, **pings), trunk("b", b.port, priority=1)])
    try:
        await group.start()
        await asyncio.wait_for(group.wait_for("a", up=False), 20)
        assert group.trunks_up() == {"a": False, "b": True}
        assert "no answer to OPTIONS" in group.trunks["a"].last_error
        down = await group.dial(request(1))  # a is out: the call goes straight to b
        assert trunks_tried(down) == ["b"]
        assert down.status is CallStatus.ANSWERED
        finish(b)

        silent_port.close()  # a comes back: a sipp answering OPTIONS (and calls) on its port
        a = answering(sipp, rtp_sink, "options_answer", calls=1000, port=a_port)
        await asyncio.wait_for(group.wait_for("a", up=True), 20)
        back = await group.dial(request(2))
        assert trunks_tried(back) == ["a"]
        assert back.status is CallStatus.ANSWERED
    finally:
        await group.aclose()
    options = [m for m in a.received() if m.method == "OPTIONS"]
    assert len(options) >= 2
    assert options[0].uri == f"sip:127.0.0.1:{a_port}"
    assert options[0].cseq == (1, "OPTIONS")


async def test_priority_first_then_weights_share_the_calls(sipp: StartSipp) -> None:
    a, b, c = (sipp("busy", calls=1000) for _ in range(3))
    group = SipTrunkGroup(
        [
            trunk("a", a.port, priority=1, weight=3),
            trunk("b", b.port, priority=1, weight=1),
            trunk("c", c.port, priority=2, weight=100),  # only if a and b were gone
        ],
        rand=random.Random(2782),
    )
    counts = {"a": 0, "b": 0, "c": 0}
    try:
        for n in range(60):
            outcome = await group.dial(request(n))
            (used,) = trunks_tried(outcome)
            counts[used] += 1
    finally:
        await group.aclose()

    assert counts["c"] == 0
    assert len(invites(a)) == counts["a"]
    assert len(invites(b)) == counts["b"]
    assert 0.6 <= counts["a"] / 60 <= 0.9  # 3:1 expects 0.75 (fixed seed: no flakes)


async def test_a_trunk_at_its_concurrency_cap_is_skipped_and_then_waited_for(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    a = answering(sipp, rtp_sink, calls=3)
    b = answering(sipp, rtp_sink, calls=3)
    group = SipTrunkGroup(
        [
            trunk("a", a.port, priority=0, max_concurrent=1),
            trunk("b", b.port, priority=1, max_concurrent=1),
        ]
    )
    try:
        await group.start()  # then the three calls pick their trunks in the order started
        outcomes = await asyncio.gather(*(group.dial(request(n, 0.6)) for n in range(3)))
    finally:
        await group.aclose()

    assert all(o.status is CallStatus.ANSWERED for o in outcomes)
    used = [trunks_tried(o) for o in outcomes]
    assert used[:2] == [["a"], ["b"]]  # the second call skipped a, at its cap
    assert used[2] in (["a"], ["b"])  # the third waited for a free trunk
    assert len(invites(a)) + len(invites(b)) == 3  # the waiting call was dialed once
    for label in ("a", "b"):  # never two calls at once on one trunk
        spans = sorted(
            (o.invite_at or 0.0, o.end_at or 0.0)
            for o, u in zip(outcomes, used, strict=True)
            if u == [label]
        )
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))


async def test_a_trunk_whose_register_failed_is_skipped(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    registrar = sipp("register_retry", variables={"expires": "60"})  # 503 to the first
    a = sipp("busy")  # a's calls would land here
    b = answering(sipp, rtp_sink)
    registering = {"register": True, "registrar": f"127.0.0.1:{registrar.port}"}
    group = SipTrunkGroup(
        [
            trunk("a", a.port, priority=0, register_retry_s=600, **registering),
            trunk("b", b.port, priority=1),
        ]
    )
    outcome = await dial_once(group, request())
    finish(b)

    assert outcome.status is CallStatus.ANSWERED
    assert trunks_tried(outcome) == ["b"]
    assert invites(a) == []
    assert [m.method for m in registrar.received()] == ["REGISTER"]


async def test_a_call_waiting_for_a_free_trunk_expires_undialed(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    a = answering(sipp, rtp_sink, calls=2)
    group = SipTrunkGroup([trunk("a", a.port, max_concurrent=1)])
    try:
        await group.start()
        held = asyncio.ensure_future(group.dial(request(1, 1.0)))  # a's one slot, for >= 1 s
        while group.active_calls == 0:  # let it take the slot (no clock involved)
            await asyncio.sleep(0)
        late = CallRequest("v-late", MOBILE, make_audio(0.2), deadline=time.time() + 0.3)
        expired = await group.dial(late)
        first = await held
    finally:
        await group.aclose()

    assert first.status is CallStatus.ANSWERED
    assert (expired.status, expired.invite_at) == (CallStatus.EXPIRED, None)
    assert "before a trunk was free" in expired.detail
    assert expired.never_left  # refunded whatever the charge policy: nobody was asked
    assert len(invites(a)) == 1


async def test_a_call_waiting_for_a_free_trunk_when_the_dialer_closes_never_left(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    a = answering(sipp, rtp_sink, calls=2)
    group = SipTrunkGroup([trunk("a", a.port, max_concurrent=1)])
    await group.start()
    held = asyncio.ensure_future(group.dial(request(1, 1.0)))
    while group.active_calls == 0:
        await asyncio.sleep(0)
    waiting = asyncio.ensure_future(group.dial(CallRequest("v-wait", MOBILE, make_audio(0.2))))
    await asyncio.sleep(0)  # it is waiting for a's one slot
    await group.aclose()
    stopped = await waiting
    first = await held

    assert (stopped.status, stopped.invite_at) == (CallStatus.CANCELED, None)
    assert stopped.never_left
    assert len(invites(a)) == (0 if first.invite_at is None else 1)  # the held call's only


async def test_a_trunk_over_its_calls_per_second_is_skipped(sipp: StartSipp) -> None:
    a, b = sipp("busy", calls=10), sipp("busy", calls=10)
    group = SipTrunkGroup(
        [trunk("a", a.port, calls_per_s=0.01), trunk("b", b.port, priority=1)]
    )  # a: one call, then the next token in 100 s
    try:
        used = [trunks_tried(await group.dial(request(n))) for n in range(3)]
    finally:
        await group.aclose()
    assert used == [["a"], ["b"], ["b"]]


async def test_when_no_trunk_is_up_the_down_ones_are_tried_as_a_last_resort(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    a, b = (answering(sipp, rtp_sink, "options_unavailable", calls=1000) for _ in range(2))
    pings = {"options_interval_s": 0.1, "options_timeout_s": 0.5, "down_after": 1}
    group = SipTrunkGroup(
        [trunk("a", a.port, **pings), trunk("b", b.port, priority=1, **pings)]
    )  # both answer every ping 503, and still take calls
    try:
        await group.start()
        await asyncio.wait_for(group.wait_for("a", up=False), 20)
        await asyncio.wait_for(group.wait_for("b", up=False), 20)
        assert group.trunks["a"].last_error == "answered 503 Service Unavailable"
        outcome = await group.dial(request())
    finally:
        await group.aclose()
    assert outcome.status is CallStatus.ANSWERED
    assert trunks_tried(outcome) == ["a"]  # in priority order, down or not


async def test_an_unresolvable_trunk_fails_over_and_its_pings_take_it_out(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    b = answering(sipp, rtp_sink)
    pings = {"options_interval_s": 0.1, "down_after": 1}
    broken = SipTrunk(name="a", host="no-such-trunk.invalid", t1_s=0.05, **pings)  # type: ignore[arg-type]
    group = SipTrunkGroup([broken, trunk("b", b.port, priority=1)])
    try:
        outcome = await group.dial(request())  # a may still count as up: tried, nothing sent
        await asyncio.wait_for(group.wait_for("a", up=False), 20)
    finally:
        await group.aclose()
    finish(b)
    assert outcome.status is CallStatus.ANSWERED
    assert trunks_tried(outcome)[-1] == "b"
    assert "no-such-trunk.invalid" in group.trunks["a"].last_error


async def test_a_refused_ping_is_a_miss_at_once() -> None:
    pings = {"options_interval_s": 0.1, "options_timeout_s": 30.0, "down_after": 1}
    group = SipTrunkGroup([trunk("a", free_udp_port(), **pings)])  # ICMP port unreachable
    try:
        await group.start()
        await asyncio.wait_for(group.wait_for("a", up=False), 20)  # long before the timeout
    finally:
        await group.aclose()
    assert "the network refused OPTIONS" in group.trunks["a"].last_error
