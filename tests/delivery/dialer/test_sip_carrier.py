"""What real carriers send, scripted message by message (tests/delivery/dialer/carrier.py)."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest

from tests.delivery.dialer.carrier import Carrier, rtp_socket, sdp
from tests.delivery.dialer.conftest import bind_media_pair, make_audio
from tests.delivery.dialer.rtpcheck import drain
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk
from voiceotp.delivery.dialer.sip.message import SipMessage, header_params

pytestmark = pytest.mark.timeout(30)
MOBILE = "13800138000"


@pytest.fixture
async def carrier() -> AsyncIterator[Carrier]:
    far_end = Carrier()
    yield far_end
    far_end.close()


@pytest.fixture
def rtp() -> AsyncIterator[socket.socket]:
    sock = rtp_socket()
    yield sock
    sock.close()


def rtp_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


async def dialing(
    carrier: Carrier, seconds: float = 0.2, **trunk: object
) -> tuple[SipDialer, asyncio.Task[CallOutcome], SipMessage]:
    """A dialer calling ``carrier``, the call's task, and the INVITE the carrier got."""
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=carrier.port, t1_s=0.1, **trunk))  # type: ignore[arg-type]
    call = asyncio.create_task(dialer.dial(CallRequest("v-c", MOBILE, make_audio(seconds))))
    return dialer, call, await carrier.recv("INVITE")


async def ended(dialer: SipDialer, call: asyncio.Task[CallOutcome]) -> CallOutcome:
    outcome = await call
    await dialer.aclose()
    return outcome


# -- Q.850 Reason headers ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "reason", "status", "q850"),
    [
        (403, 'Q.850;cause=21;text="Call rejected"', CallStatus.REJECTED, 21),
        (480, "Q.850;cause=17", CallStatus.BUSY, 17),
        (503, 'SIP;cause=503, Q.850;cause=34;text="No circuit"', CallStatus.FAILED, 34),
        (480, 'Q.850;cause=20;text="Subscriber absent"', CallStatus.NO_ANSWER, 20),
        (487, "Q.850;cause=19", CallStatus.NO_ANSWER, 19),  # the carrier's own ring timeout
        (480, "", CallStatus.NO_ANSWER, 18),
    ],
)
async def test_q850_reason_decides_the_status(
    carrier: Carrier, code: int, reason: str, status: CallStatus, q850: int
) -> None:
    dialer, call, invite = await dialing(carrier)
    carrier.respond(invite, 100, "Trying")
    headers = [("Reason", reason)] if reason else []
    carrier.respond(invite, code, "Refused", headers=headers)
    ack = await carrier.recv("ACK")
    outcome = await ended(dialer, call)

    assert (outcome.status, outcome.sip_code, outcome.q850) == (status, code, q850)
    assert ack.branch == invite.branch


async def test_number_echoed_in_the_reason_phrase_is_masked(carrier: Carrier) -> None:
    dialer, call, invite = await dialing(carrier)
    carrier.respond(invite, 404, f"Not Found +86{MOBILE}")
    await carrier.recv("ACK")
    outcome = await ended(dialer, call)

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, 404, 1)
    assert MOBILE not in outcome.detail
    assert outcome.detail.startswith("404 Not Found +86")


# -- SDP quirks ---------------------------------------------------------------------------
async def test_200_without_sdp_uses_the_183_early_answer(
    carrier: Carrier, rtp: socket.socket
) -> None:
    dialer, call, invite = await dialing(carrier)
    carrier.respond(invite, 183, "Session Progress", body=sdp(rtp_port(rtp)))
    carrier.respond(invite, 200, "OK", headers=[("Contact", f"<sip:c@127.0.0.1:{carrier.port}>")])
    await carrier.recv("ACK")
    bye = await carrier.recv("BYE")
    carrier.respond(bye, 200, "OK")
    outcome = await ended(dialer, call)

    assert outcome.status is CallStatus.ANSWERED, outcome.detail
    assert len(drain(rtp)) == 10


async def test_answer_sdp_wins_over_183_and_compact_200_is_reacked(
    carrier: Carrier, rtp: socket.socket
) -> None:
    early = rtp_socket()
    dialer, call, invite = await dialing(carrier, seconds=0.4)
    carrier.respond(invite, 183, "Session Progress", body=sdp(rtp_port(early)), compact=True)
    answer = sdp(
        rtp_port(rtp), "96 101", ("a=rtpmap:96 PCMA/8000", "a=rtpmap:101 telephone-event/8000")
    )
    routes = [
        # the proxy nearest the callee records first: we route via edge1 (ours) then core
        ("Record-Route", "<sip:core.carrier;lr>, <sip:edge1.carrier;lr>"),
        ("m", f"<sip:callee@127.0.0.1:{carrier.port};transport=udp>"),
    ]
    ok = carrier.respond(invite, 200, "OK", headers=routes, body=answer, compact=True)
    acks = [await carrier.recv("ACK")]
    for _ in range(2):  # retransmitted 200s (our ACK "was lost") are ACKed each time
        carrier.send(ok)
        acks.append(await carrier.recv("ACK"))
    bye = await carrier.recv("BYE")
    carrier.respond(bye, 200, "OK")
    outcome = await ended(dialer, call)

    assert outcome.status is CallStatus.ANSWERED
    packets = drain(rtp)
    assert {p.payload_type for p in packets} == {96}
    assert len(packets) == 20
    assert not drain(early)
    early.close()
    for request in (*acks, bye):
        assert request.uri == f"sip:callee@127.0.0.1:{carrier.port};transport=udp"
        assert request.get_all("Route") == ["<sip:edge1.carrier;lr>", "<sip:core.carrier;lr>"]
        assert header_params(request.get("To"))["tag"] == "carrier1"


async def test_port_with_a_count_in_the_answer_is_read(
    carrier: Carrier, rtp: socket.socket
) -> None:
    dialer, call, invite = await dialing(carrier)
    body = (
        sdp(rtp_port(rtp))
        .replace(b"RTP/AVP", b"RTP/AVP")
        .replace(f"m=audio {rtp_port(rtp)} ".encode(), f"m=audio {rtp_port(rtp)}/1 ".encode())
    )
    carrier.respond(invite, 200, "OK", headers=[("Contact", "<sip:c@127.0.0.1>")], body=body)
    await carrier.recv("ACK")
    carrier.respond(await carrier.recv("BYE"), 200, "OK")
    outcome = await ended(dialer, call)

    assert outcome.status is CallStatus.ANSWERED
    assert drain(rtp)


async def test_answer_in_a_codec_we_did_not_offer_is_hung_up_with_a_reason(
    carrier: Carrier,
) -> None:
    dialer, call, invite = await dialing(carrier)
    body = sdp(40000, "18", ("a=rtpmap:18 G729/8000",))
    carrier.respond(invite, 200, "OK", headers=[("Contact", "<sip:c@127.0.0.1>")], body=body)
    await carrier.recv("ACK")
    bye = await carrier.recv("BYE")
    carrier.respond(bye, 200, "OK")
    outcome = await ended(dialer, call)

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, 200, 88)
    assert "PCMU/PCMA" in outcome.detail
    assert header_params(bye.get("Reason"))["cause"] == "88"


# -- requests from the carrier ----------------------------------------------------------
async def test_mid_call_requests_are_answered_without_dropping_the_call(
    carrier: Carrier, rtp: socket.socket
) -> None:
    dialer, call, invite = await dialing(carrier, seconds=0.6)
    carrier.respond(
        invite, 200, "OK", headers=[("Contact", "<sip:c@127.0.0.1>")], body=sdp(rtp_port(rtp))
    )
    await carrier.recv("ACK")
    answers = {}
    for n, method in enumerate(("INVITE", "UPDATE", "OPTIONS"), start=1):
        reinvite = carrier.request(method, invite, n, f"in{n}")
        carrier.send(reinvite)
        answers[method] = (await carrier.recv()).status
    bye = await carrier.recv("BYE")
    carrier.respond(bye, 200, "OK")
    outcome = await ended(dialer, call)

    assert answers == {"INVITE": 488, "UPDATE": 501, "OPTIONS": 200}
    assert outcome.status is CallStatus.ANSWERED
    assert len(drain(rtp)) == 30  # the call played to its end


async def test_bye_from_another_sbc_node_is_answered_there_also_when_repeated(
    carrier: Carrier, rtp: socket.socket
) -> None:
    node2 = rtp_socket()  # a second signalling node of the carrier's cluster
    dialer, call, invite = await dialing(carrier, seconds=2.0)
    carrier.respond(
        invite, 200, "OK", headers=[("Contact", "<sip:c@127.0.0.1>")], body=sdp(rtp_port(rtp))
    )
    await carrier.recv("ACK")
    bye = carrier.request("BYE", invite, 1, "bye1")
    carrier.send(bye, sock=node2)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        first = await loop.sock_recv(node2, 4096)
    outcome = await call
    carrier.send(bye, sock=node2)  # our 200 "was lost": the callee repeats its BYE
    async with asyncio.timeout(5):
        second = await loop.sock_recv(node2, 4096)
    await dialer.aclose()
    node2.close()

    assert first.startswith(b"SIP/2.0 200")
    assert second.startswith(b"SIP/2.0 200")
    assert "callee hung up" in outcome.detail


async def test_options_keepalive_outside_a_call_gets_200(carrier: Carrier) -> None:
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=carrier.port))
    transport = await dialer.start()
    carrier.dialer = transport.local_address
    options = SipMessage(
        method="OPTIONS",
        uri=f"sip:127.0.0.1:{transport.local_address[1]}",
        headers=[
            ("v", f"SIP/2.0/UDP 127.0.0.1:{carrier.port};branch=z9hG4bKka1"),
            ("f", "<sip:ping@carrier>;tag=p1"),
            ("t", "<sip:voiceotp@127.0.0.1>"),
            ("i", "keepalive-1"),
            ("CSeq", "7 OPTIONS"),
        ],
    )
    carrier.send(options)
    answer = await carrier.recv()
    await dialer.aclose()

    assert (answer.status, answer.cseq, answer.call_id) == (200, (7, "OPTIONS"), "keepalive-1")
    assert header_params(answer.get("To")).get("tag")
    assert "INVITE" in answer.get("Allow")


# -- resources ----------------------------------------------------------------------------
async def test_rtp_ports_come_from_the_range_and_exhaustion_fails_clearly(
    carrier: Carrier, rtp: socket.socket
) -> None:
    probe = bind_media_pair()
    low = int(probe[0].getsockname()[1])  # even; low + 1 was free too
    for sock in probe:
        sock.close()
    dialer, call, invite = await dialing(carrier, rtp_port_min=low, rtp_port_max=low + 1)
    offer_port = int(invite.body.decode().split("m=audio ")[1].split()[0])
    rtcp_taken = _udp_port_taken(low + 1)
    second = await dialer.dial(CallRequest("v-2", MOBILE, make_audio(0.1)))  # pair is taken
    carrier.respond(invite, 486, "Busy Here")
    await carrier.recv("ACK")
    first = await ended(dialer, call)

    assert (offer_port, rtcp_taken) == (low, True)  # RTP even, RTCP on the odd port next
    assert first.status is CallStatus.BUSY
    assert (second.status, second.invite_at) == (CallStatus.FAILED, None)
    assert f"no free RTP/RTCP port pair in {low}-{low + 1}" in second.detail
    assert "widen rtp_port_min..rtp_port_max" in second.detail
    for bad in ((5000, 4000), (5001, 5002), (5000, 5000)):  # no even/odd pair inside
        with pytest.raises(ValueError, match="rtp_port_min"):
            SipTrunk(host="h", rtp_port_min=bad[0], rtp_port_max=bad[1])
    SipTrunk(host="h", rtp_port_min=5001, rtp_port_max=5003)


def _udp_port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


async def test_challenged_bye_is_answered_with_credentials(
    carrier: Carrier, rtp: socket.socket
) -> None:
    dialer, call, invite = await dialing(carrier, username="otp", password="s3cret")
    contact = [("Contact", "<sip:c@127.0.0.1>")]
    carrier.respond(invite, 200, "OK", headers=contact, body=sdp(rtp_port(rtp)))
    await carrier.recv("ACK")
    first = await carrier.recv("BYE")
    challenge = 'Digest realm="carrier", nonce="n1", qop="auth"'
    carrier.respond(
        first, 407, "Proxy Authentication Required", headers=[("Proxy-Authenticate", challenge)]
    )
    second = await carrier.recv("BYE")
    carrier.respond(second, 200, "OK")
    outcome = await ended(dialer, call)

    assert outcome.status is CallStatus.ANSWERED
    assert "BYE answered" not in outcome.detail
    assert second.cseq == (first.cseq[0] + 1, "BYE")
    assert second.branch != first.branch
    assert 'username="otp"' in second.get("Proxy-Authorization")
    assert 'uri="sip:c@127.0.0.1"' in second.get("Proxy-Authorization")


# -- RTCP ---------------------------------------------------------------------------------
def _rtp(seq: int, timestamp: int, ssrc: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, timestamp, ssrc) + b"\xff" * 160


async def test_callee_rtp_loss_and_its_rtcp_report_are_kept_on_the_call_record(
    carrier: Carrier,
) -> None:
    rtp, rtcp = bind_media_pair()
    dialer, call, invite = await dialing(carrier, seconds=5.0)
    ours = int(invite.body.decode().split("m=audio ")[1].split()[0])
    carrier.respond(
        invite, 200, "OK", headers=[("Contact", "<sip:c@127.0.0.1>")], body=sdp(rtp_port(rtp))
    )
    await carrier.recv("ACK")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        first = await loop.sock_recv(rtp, 4096)
    our_ssrc = struct.unpack_from("!I", first, 8)[0]
    for seq in (*range(100, 105), *range(107, 112)):  # 106 and 105 never arrive: 2 lost
        rtp.sendto(_rtp(seq, seq * 160, 0xCA11EE), ("127.0.0.1", ours))
    # RR (RFC 3550 §6.4.2) from the callee: fraction 26/256, 3 lost, jitter 80 (10 ms)
    block = struct.pack("!IIIIII", our_ssrc, (26 << 24) | 3, 1234, 80, 0, 0)
    rtcp.sendto(struct.pack("!BBHI", 0x81, 201, 7, 0xCA11EE) + block, ("127.0.0.1", ours + 1))
    # asyncio reads one datagram per socket and loop iteration: let 15 of the pacer's
    # 20 ms ticks pass (each one an iteration) before hanging up
    async with asyncio.timeout(5):
        for _ in range(15):
            await loop.sock_recv(rtp, 4096)
    carrier.send(carrier.request("BYE", invite, 1, "bye1"))
    await carrier.recv()
    outcome = await ended(dialer, call)
    rtp.close()
    rtcp.close()

    assert "callee hung up" in outcome.detail
    assert "RTP in 10 packets, 2 lost, jitter" in outcome.detail
    assert "callee RTCP: 3 lost (10.2 %), jitter 10.0 ms" in outcome.detail
    assert outcome.media is not None  # the same figures as the call record's columns
    assert (outcome.media.received, outcome.media.lost) == (10, 2)
    assert (outcome.media.callee_lost, outcome.media.callee_jitter_ms) == (3, 10.0)


# -- ICMP ---------------------------------------------------------------------------------
async def test_a_refused_reply_to_another_node_does_not_end_the_call(carrier: Carrier) -> None:
    dialer, call, invite = await dialing(carrier)
    node2 = rtp_socket()  # another node of the carrier pings the call, then goes away
    node2.sendto(carrier.request("OPTIONS", invite, 1, "opt1").to_bytes(), carrier.dialer)
    node2.close()  # our 200 to it comes back as ICMP port unreachable
    again = await carrier.recv("INVITE")  # Timer A: the call is still trying the trunk
    carrier.respond(again, 486, "Busy Here")
    await carrier.recv("ACK")
    outcome = await ended(dialer, call)

    assert again.branch == invite.branch
    assert (outcome.status, outcome.sip_code) == (CallStatus.BUSY, 486)


# -- keys ---------------------------------------------------------------------------------
def _event(key: int, seq: int, timestamp: int, *, end: bool) -> bytes:
    """An RFC 4733 telephone-event packet (payload type 101 as we offered it)."""
    payload = struct.pack("!BBH", key, (0x80 if end else 0) | 10, 400)
    return struct.pack("!BBHII", 0x80, 101, seq, timestamp, 0xCA11EE) + payload


async def test_repeat_key_after_the_code_ended_resumes_it_after_a_pause(
    carrier: Carrier, rtp: socket.socket
) -> None:
    dialer, call, invite = await dialing(carrier, repeat_key="1", repeat_wait_s=10.0, max_repeats=1)
    ours = int(invite.body.decode().split("m=audio ")[1].split()[0])
    carrier.respond(
        invite, 200, "OK", headers=[("Contact", "<sip:c@127.0.0.1>")], body=sdp(rtp_port(rtp))
    )
    await carrier.recv("ACK")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        first = [await loop.sock_recv(rtp, 4096) for _ in range(10)]  # the whole 0.2 s code
        for n, end in enumerate((False, False, True, True, True)):  # one press, end x3
            rtp.sendto(_event(1, 500 + n, 8000, end=end), ("127.0.0.1", ours))
        second = [await loop.sock_recv(rtp, 4096) for _ in range(10)]
    bye = await carrier.recv("BYE")  # at once: max_repeats=1 leaves nothing to listen for
    carrier.respond(bye, 200, "OK")
    outcome = await ended(dialer, call)

    assert "callee pressed 1, replayed 1x" in outcome.detail
    header = struct.Struct("!BBHII")
    (_, _, s1, t1, c1), (_, m2, s2, t2, c2) = (
        header.unpack_from(p) for p in (first[-1], second[0])
    )
    assert (m2 & 0x80, c2, (s2 - s1) & 0xFFFF) == (0x80, c1, 1)  # marker: talkspurt after a pause
    assert (t2 - t1) & 0xFFFFFFFF >= 160  # the pause counts in the timestamps
    assert [p[12:] for p in second] == [p[12:] for p in first]


async def test_info_without_a_key_gets_415(carrier: Carrier, rtp: socket.socket) -> None:
    dialer, call, invite = await dialing(carrier, seconds=2.0)
    carrier.respond(
        invite, 200, "OK", headers=[("Contact", "<sip:c@127.0.0.1>")], body=sdp(rtp_port(rtp))
    )
    await carrier.recv("ACK")
    info = carrier.request("INFO", invite, 1, "info1")
    info.headers.append(("Content-Type", "application/media_control+xml"))
    info.body = b"<media_control/>"
    carrier.send(info)
    answer = await carrier.recv()
    carrier.send(carrier.request("BYE", invite, 2, "bye1"))
    await carrier.recv()
    outcome = await ended(dialer, call)

    assert (answer.status, answer.cseq) == (415, (1, "INFO"))
    assert "pressed" not in outcome.detail
