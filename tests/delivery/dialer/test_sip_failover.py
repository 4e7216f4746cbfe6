"""Failover between the SRV targets of one trunk (RFC 3263 §4.3), against real sipps and a
local DNS server: a dead first target sends the call to the next one, a target that has
reached the callee (a 1xx with a To-tag) never does."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.delivery.dialer.conftest import make_audio
from tests.delivery.dialer.dnsserver import DnsServer, Records, start_dns
from tests.delivery.dialer.sipp import Sipp, free_tcp_port, free_udp_port
from tests.delivery.dialer.tlskit import TestCA, TlsTerminator
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk
from voiceotp.delivery.dialer.sip.call import SipCall
from voiceotp.delivery.dialer.sip.message import SipMessage

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(60)]
MOBILE = "13800138000"
StartSipp = Callable[..., Sipp]


@pytest.fixture
async def dns_servers() -> AsyncIterator[list[DnsServer]]:
    servers: list[DnsServer] = []
    yield servers
    for server in servers:
        server.close()


async def place(records: Records, servers: list[DnsServer], **trunk: object) -> CallOutcome:
    server, resolver = await start_dns(records)
    servers.append(server)
    options = {"host": "trunk.test", "t1_s": 0.1} | trunk
    dialer = SipDialer(SipTrunk(**options), resolver=resolver)  # type: ignore[arg-type]
    try:
        return await dialer.dial(CallRequest("v-failover", MOBILE, make_audio(0.2)))
    finally:
        await dialer.aclose()


def answering(sipp: StartSipp, rtp_sink: socket.socket, transport: str = "udp") -> Sipp:
    variables = {"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    return sipp("answer", variables=variables, transport=transport)


def finish(*processes: Sipp) -> None:
    for process in processes:
        code = process.wait(20)
        assert code == 0, f"sipp failed:\n{process.errors()}\n{process.messages()[-3000:]}"


def invites(process: Sipp) -> list[SipMessage]:
    return [m for m in process.received() if m.method == "INVITE"]


def srv(*ports: int, transport: str = "udp") -> Records:
    """_sip._udp (or _tcp) SRV records: one node per port, in priority order."""
    prefix = {"udp": "_sip._udp", "tcp": "_sip._tcp", "tls": "_sips._tcp"}[transport]
    records: Records = {(f"{prefix}.trunk.test", "SRV"): []}
    for index, port in enumerate(ports):
        records[(f"{prefix}.trunk.test", "SRV")].append(
            f"{10 * (index + 1)} 0 {port} n{index}.trunk.test."
        )
        records[(f"n{index}.trunk.test", "A")] = ["127.0.0.1"]
    return records


async def test_a_refused_then_a_503_target_fall_over_to_the_third(
    sipp: StartSipp, rtp_sink: socket.socket, dns_servers: list[DnsServer]
) -> None:
    nobody = free_udp_port()  # ICMP port unreachable (Linux reports it at once)
    refusing = sipp("unavailable")  # 100 Trying, then 503: the target itself gave up
    callee = answering(sipp, rtp_sink)
    outcome = await place(srv(nobody, refusing.port, callee.port), dns_servers)
    finish(refusing, callee)  # the 503 was ACKed; the call was answered on the third

    assert (outcome.status, outcome.sip_code) == (CallStatus.ANSWERED, 200)
    assert outcome.detail.startswith(
        f"127.0.0.1:{nobody}/udp failed (trunk unreachable: the network refused the INVITE "
        f"(ECONNREFUSED)), trying 127.0.0.1:{refusing.port}/udp; "
        f"127.0.0.1:{refusing.port}/udp failed (503 Service Unavailable), "
        f"trying 127.0.0.1:{callee.port}/udp; played"
    )
    (first,), (second,) = invites(refusing), invites(callee)
    assert first.call_id == second.call_id  # one call, retried elsewhere
    assert first.branch != second.branch


@pytest.mark.parametrize(
    ("timers", "why"),
    [
        ({"t1_s": 0.05}, "no response from the trunk (Timer B)"),  # 3.2 s < target_timeout_s
        ({"t1_s": 0.5, "target_timeout_s": 0.3}, "no response from the trunk in 0.3 s"),
    ],
    ids=["Timer B", "target_timeout_s"],
)
async def test_a_silent_target_is_left_for_the_next(
    sipp: StartSipp,
    rtp_sink: socket.socket,
    dns_servers: list[DnsServer],
    timers: dict[str, float],
    why: str,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # receives, never answers
        callee = answering(sipp, rtp_sink)
        async with asyncio.timeout(20):  # Timer B would be 32 s with T1 = 0.5 s
            outcome = await place(srv(silent.getsockname()[1], callee.port), dns_servers, **timers)
    finish(callee)
    assert outcome.status is CallStatus.ANSWERED
    assert f"failed ({why}), trying 127.0.0.1:{callee.port}/udp" in outcome.detail


async def test_no_failover_once_the_callee_side_rang(
    sipp: StartSipp, rtp_sink: socket.socket, dns_servers: list[DnsServer]
) -> None:
    ringing = sipp("ring_unavailable")  # 180 with a To-tag, then 503
    callee = answering(sipp, rtp_sink)
    outcome = await place(srv(ringing.port, callee.port), dns_servers)
    finish(ringing)

    assert (outcome.status, outcome.sip_code) == (CallStatus.FAILED, 503)
    assert "trying" not in outcome.detail
    assert invites(callee) == []  # the callee's phone may have rung: never a second call


async def test_naptr_chooses_tcp_and_a_refused_connection_falls_over(
    sipp: StartSipp, rtp_sink: socket.socket, dns_servers: list[DnsServer]
) -> None:
    callee = answering(sipp, rtp_sink, transport="tcp")
    records = srv(free_tcp_port(), callee.port, transport="tcp")
    records[("trunk.test", "NAPTR")] = ['10 10 "s" "SIP+D2T" "" _sip._tcp.trunk.test.']
    outcome = await place(records, dns_servers)
    finish(callee)

    assert outcome.status is CallStatus.ANSWERED
    assert "/tcp failed (trunk unreachable: the network refused the INVITE (ECONNREFUSED))" in (
        outcome.detail
    )
    (invite,) = invites(callee)
    assert invite.uri == f"sip:{MOBILE}@trunk.test;transport=tcp"


async def test_tls_by_naptr_verifies_the_trunks_name_not_the_srv_target(
    sipp: StartSipp, rtp_sink: socket.socket, dns_servers: list[DnsServer], tmp_path: Path
) -> None:
    ca = TestCA(tmp_path, "trunk")
    callee = answering(sipp, rtp_sink, transport="tcp")
    right = TlsTerminator(tmp_path, ca.issue("right", ["trunk.test"]).bundle, callee.port)
    # a node whose certificate names only itself (RFC 5922: the trunk's name must match)
    wrong = TlsTerminator(tmp_path, ca.issue("node", ["n0.trunk.test"]).bundle, callee.port)
    try:
        records = srv(wrong.port, right.port, transport="tls")
        records[("trunk.test", "NAPTR")] = ['10 10 "s" "SIPS+D2T" "" _sips._tcp.trunk.test.']
        async with asyncio.timeout(20):
            outcome = await place(records, dns_servers, tls_ca_file=str(ca.pem))
        finish(callee)
    finally:
        right.stop()
        wrong.stop()

    assert outcome.status is CallStatus.ANSWERED
    assert f"127.0.0.1:{wrong.port}/tls failed (trunk unreachable: TLS certificate" in (
        outcome.detail
    )
    assert "Hostname mismatch" in outcome.detail
    (invite,) = invites(callee)
    assert invite.get("Via").startswith("SIP/2.0/TLS ")


async def test_the_next_call_skips_a_target_that_failed_lately(
    sipp: StartSipp, rtp_sink: socket.socket, dns_servers: list[DnsServer]
) -> None:
    nobody = free_udp_port()
    variables = {"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    callee = sipp("answer", variables=variables, calls=2)
    server, resolver = await start_dns(srv(nobody, callee.port))
    dns_servers.append(server)
    dialer = SipDialer(SipTrunk(host="trunk.test", t1_s=0.1), resolver=resolver)
    try:
        first = await dialer.dial(CallRequest("v-1", MOBILE, make_audio(0.1)))
        second = await dialer.dial(CallRequest("v-2", MOBILE, make_audio(0.1)))
    finally:
        await dialer.aclose()
    finish(callee)

    assert first.status is second.status is CallStatus.ANSWERED
    assert first.detail.startswith(f"127.0.0.1:{nobody}/udp failed")
    assert second.detail.startswith("played")  # straight to the node that works


async def test_an_invite_stuck_on_a_slow_connection_is_never_sent_after_failover(
    sipp: StartSipp, rtp_sink: socket.socket, dns_servers: list[DnsServer]
) -> None:
    # A TCP node whose accept queue is full: our SYNs go unanswered until it frees up.
    with socket.socket() as slow, socket.socket() as filler:
        slow.bind(("127.0.0.1", 0))
        slow.listen(0)
        filler.connect(slow.getsockname())  # takes the only place in the queue
        callee = answering(sipp, rtp_sink, transport="tcp")
        server, resolver = await start_dns(srv(slow.getsockname()[1], callee.port, transport="tcp"))
        dns_servers.append(server)
        trunk = SipTrunk(host="trunk.test", transport="tcp", target_timeout_s=0.5)
        dialer = SipDialer(trunk, resolver=resolver)
        try:
            outcome = await dialer.dial(CallRequest("v-slow", MOBILE, make_audio(0.2)))
            slow.accept()[0].close()  # the queue frees: our SYN retransmission gets in
            slow.setblocking(False)
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(10):
                late, _ = await loop.sock_accept(slow)
            with late:
                late.setblocking(False)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1):
                        sent = await loop.sock_recv(late, 65536)
                        assert sent == b"", sent[:200]
        finally:
            await dialer.aclose()
    finish(callee)
    assert outcome.status is CallStatus.ANSWERED
    assert "failed (no response from the trunk in 0.5 s)" in outcome.detail


@pytest.mark.parametrize("scenario", ["late_ring", "late_answer"])
async def test_a_slow_target_that_rings_or_answers_after_we_left_is_cancelled_or_hung_up(
    sipp: StartSipp, rtp_sink: socket.socket, dns_servers: list[DnsServer], scenario: str
) -> None:
    """The first node is silent past target_timeout_s, so the call goes to the second; then
    the first rings (or answers) the callee after all. Its 180 is CANCELed, its 200 ACKed
    and BYEd: the callee must not keep a second call. A defect ignored both (the 200 was
    'ACKed' with the other node's ACK, so the callee's line stayed up until Timer H)."""
    variables = {"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    slow = sipp(scenario, variables=variables if scenario == "late_answer" else None)
    callee = answering(sipp, rtp_sink)
    server, resolver = await start_dns(srv(slow.port, callee.port))
    dns_servers.append(server)
    trunk = SipTrunk(host="trunk.test", t1_s=0.5, target_timeout_s=0.3)
    dialer = SipDialer(trunk, resolver=resolver)
    try:
        outcome = await dialer.dial(CallRequest("v-late", MOBILE, make_audio(0.2)))
        # the dialer runs on (as in the gateway) while the slow node answers late
        await asyncio.to_thread(finish, slow)  # its CANCEL and ACK, or its ACK and BYE
    finally:
        await dialer.aclose()
    finish(callee)
    assert outcome.status is CallStatus.ANSWERED
    assert "failed (no response from the trunk in 0.3 s)" in outcome.detail


async def test_a_lost_cancel_to_a_target_left_behind_is_retransmitted(
    sipp: StartSipp, rtp_sink: socket.socket, dns_servers: list[DnsServer]
) -> None:
    """The node left for its silence rings late and the first CANCEL to it is lost: the
    CANCEL is a non-INVITE client transaction (RFC 3261 §17.1.2), retransmitted on Timer
    E until the 200, so the callee's INVITE still ends 487 (ACKed) and is never answered.
    A defect sent it once: over UDP the phone went on ringing."""
    slow = sipp("late_ring_lost_cancel", extra=["-nr"])  # -nr: each CANCEL is a new recv
    callee = answering(sipp, rtp_sink)
    server, resolver = await start_dns(srv(slow.port, callee.port))
    dns_servers.append(server)
    trunk = SipTrunk(host="trunk.test", t1_s=0.5, target_timeout_s=0.3)
    dialer = SipDialer(trunk, resolver=resolver)
    try:
        outcome = await dialer.dial(CallRequest("v-late", MOBILE, make_audio(0.2)))
        await asyncio.to_thread(finish, slow)  # two CANCELs, its 487 and our ACK
    finally:
        await dialer.aclose()
    finish(callee)
    assert outcome.status is CallStatus.ANSWERED
    methods = [m.method for m in slow.received()]
    assert methods.count("CANCEL") >= 2
    assert "ACK" in methods
    assert "BYE" not in methods


async def test_a_slow_target_that_answers_after_the_call_failed_elsewhere_is_hung_up(
    sipp: StartSipp, rtp_sink: socket.socket, dns_servers: list[DnsServer]
) -> None:
    """Silent first node, refusing second: the call fails (nothing was ACKed), then the
    first answers after all. Its 200 is ACKed and BYEd; a defect dropped the call's
    handler at once, so the callee's line stayed up while the code was failed (and may be
    dialed again)."""
    variables = {"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    slow = sipp("late_answer", variables=variables)
    server, resolver = await start_dns(srv(slow.port, free_udp_port()))
    dns_servers.append(server)
    trunk = SipTrunk(host="trunk.test", t1_s=0.5, target_timeout_s=0.3)
    dialer = SipDialer(trunk, resolver=resolver)
    try:
        outcome = await dialer.dial(CallRequest("v-late", MOBILE, make_audio(0.2)))
        await asyncio.to_thread(finish, slow)  # its ACK and BYE
    finally:
        await dialer.aclose()
    assert outcome.status is CallStatus.FAILED
    assert "ECONNREFUSED" in outcome.detail


async def test_a_single_target_that_answers_after_timer_b_is_hung_up(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    """One target only, silent until Timer B (64·T1 = 0.64 s here) ended the call as
    unreachable, then it answers after all. Its 200 is ACKed and BYEd like a left
    target's; a defect dropped the call's handler at once, so the 200 went unanswered and
    the callee kept a call nobody played to (while the code was failed)."""
    variables = {"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    slow = sipp("late_answer", variables=variables)
    trunk = SipTrunk(host="127.0.0.1", port=slow.port, t1_s=0.01)
    dialer = SipDialer(trunk)
    try:
        outcome = await dialer.dial(CallRequest("v-late", MOBILE, make_audio(0.2)))
        await asyncio.to_thread(finish, slow)  # its ACK and BYE
    finally:
        await dialer.aclose()
    assert outcome.status is CallStatus.FAILED
    assert "Timer B" in outcome.detail
    methods = [m.method for m in slow.received()]
    assert "ACK" in methods
    assert "BYE" in methods


async def test_an_ended_call_is_not_kept_alive_by_its_icmp_handler(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    """Once a call ended only its linger (ACKs, late answers) stays with the socket: a
    defect kept each call's ICMP refusal handler, and with it the whole call, for as long
    as the dialer ran (a gateway's memory grew with every call)."""
    callee = answering(sipp, rtp_sink)
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=callee.port))
    try:
        outcome = await dialer.dial(CallRequest("v-mem", MOBILE, make_audio(0.2)))
        finish(callee)
        gc.collect()
        transport = await dialer.start()
        alive = [
            o for o in gc.get_objects() if isinstance(o, SipCall) and o.env.transport is transport
        ]
    finally:
        await dialer.aclose()
    assert outcome.status is CallStatus.ANSWERED
    assert alive == []
