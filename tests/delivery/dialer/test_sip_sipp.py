"""SipDialer against a real sipp playing the far end (scenarios/*.xml), on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import socket
from collections.abc import Callable

import pytest

from tests.delivery.dialer.conftest import make_audio
from tests.delivery.dialer.lossy import LossyRelay
from tests.delivery.dialer.rtpcheck import Packet, correlation, drain, drain_rtcp, reassemble
from tests.delivery.dialer.sipp import Sipp
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk
from voiceotp.delivery.dialer.sip.message import SipMessage, header_params, parse_message

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(60)]
MOBILE = "13800138000"
StartSipp = Callable[..., Sipp]


async def place(sipp: Sipp, *, seconds: float = 0.4, **options: object) -> CallOutcome:
    trunk_options = {k: v for k, v in options.items() if k in ("username", "password")}
    call_options = {k: v for k, v in options.items() if k not in trunk_options}
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=sipp.port, t1_s=0.1, **trunk_options))
    try:
        request = CallRequest("v-test", MOBILE, make_audio(seconds), **call_options)  # type: ignore[arg-type]
        return await dialer.dial(request)
    finally:
        await dialer.aclose()


def finish(sipp: Sipp) -> None:
    code = sipp.wait(20)
    assert code == 0, f"sipp scenario failed:\n{sipp.errors()}\n{sipp.messages()[-3000:]}"


def only(messages: list[SipMessage], method: str) -> list[SipMessage]:
    return [m for m in messages if m.method == method]


def offer_port(invite: SipMessage) -> int:
    return int(invite.body.decode().split("m=audio ")[1].split()[0])


@pytest.mark.parametrize(("codec", "payload_type"), [("PCMU", 0), ("PCMA", 8)])
async def test_answered_call_plays_the_audio_then_hangs_up(
    sipp: StartSipp,
    rtp_sink: socket.socket,
    rtcp_sink: socket.socket,
    codec: str,
    payload_type: int,
) -> None:
    far_end = sipp(
        "answer",
        variables={
            "rtp_port": str(rtp_sink.getsockname()[1]),
            "pt": str(payload_type),
            "codec": codec,
        },
    )
    outcome = await place(far_end, seconds=0.6)
    finish(far_end)

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.ANSWERED, 200, 16)
    assert outcome.invite_at
    assert outcome.ring_at
    assert outcome.answer_at
    assert outcome.end_at
    assert outcome.invite_at <= outcome.ring_at <= outcome.answer_at <= outcome.end_at
    packets = drain(rtp_sink)
    assert len(packets) == 30  # 0.6 s in 20 ms frames
    assert [p.marker for p in packets] == [True] + [False] * 29
    assert {p.payload_type for p in packets} == {payload_type}
    assert len({p.ssrc for p in packets}) == 1
    assert all((b.seq - a.seq) & 0xFFFF == 1 for a, b in itertools.pairwise(packets))
    assert all(b.timestamp - a.timestamp == 160 for a, b in itertools.pairwise(packets))
    sent_audio = make_audio(0.6)[codec]
    assert correlation(codec, sent_audio, reassemble(packets)) >= 0.99

    invite, ack, bye = (only(far_end.received(), m)[0] for m in ("INVITE", "ACK", "BYE"))
    # RTCP (RFC 3550 §11): RTP on an even port, RTCP from the odd one after it, to the
    # callee's RTP port + 1; the last compound is SR + SDES + BYE with the final counts
    our_port = offer_port(invite)
    assert our_port % 2 == 0
    reports = drain_rtcp(rtcp_sink)
    assert reports
    assert {source for _, source in reports} == {("127.0.0.1", our_port + 1)}
    final = reports[-1][0]
    assert final.types == [200, 202, 203]
    assert (final.ssrc, final.packets, final.octets) == (packets[0].ssrc, 30, 30 * 160)
    assert "no RTP from callee" in outcome.detail  # sipp sent none: the record says so
    assert ack.cseq == (1, "ACK")
    assert ack.branch != invite.branch
    assert header_params(ack.get("To"))["tag"] == header_params(bye.get("To"))["tag"]
    assert bye.cseq == (2, "BYE")


@pytest.mark.parametrize(
    ("scenario", "code", "status", "q850"),
    [
        ("busy", 486, CallStatus.BUSY, 17),
        ("decline", 603, CallStatus.REJECTED, 21),
        ("unavailable", 503, CallStatus.FAILED, 41),
    ],
)
async def test_final_refusal_is_acked_and_mapped(
    sipp: StartSipp, scenario: str, code: int, status: CallStatus, q850: int
) -> None:
    far_end = sipp(scenario)
    outcome = await place(far_end)
    finish(far_end)

    assert (outcome.status, outcome.sip_code, outcome.q850) == (status, code, q850)
    assert outcome.answer_at is None
    assert outcome.duration_s == 0
    invite, ack = (only(far_end.received(), m)[0] for m in ("INVITE", "ACK"))
    assert ack.branch == invite.branch  # non-2xx ACK belongs to the INVITE transaction
    assert ack.cseq == (1, "ACK")
    assert ack.uri == invite.uri
    assert "tag" in header_params(ack.get("To"))


@pytest.mark.parametrize("scenario", ["ring_timeout", "early_media"])
async def test_ring_timeout_cancels_and_acks_the_487(sipp: StartSipp, scenario: str) -> None:
    far_end = sipp(scenario)
    outcome = await place(far_end, ring_timeout_s=0.5)
    finish(far_end)

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.NO_ANSWER, 487, 19)
    assert outcome.ring_at is not None
    assert outcome.answer_at is None
    received = far_end.received()
    invite, cancel, ack = (only(received, m)[0] for m in ("INVITE", "CANCEL", "ACK"))
    assert cancel.branch == invite.branch
    assert cancel.cseq == (1, "CANCEL")
    assert ack.branch == invite.branch
    assert ack.cseq == (1, "ACK")


async def test_digest_challenge_is_answered(sipp: StartSipp, rtp_sink: socket.socket) -> None:
    far_end = sipp(
        "auth",
        variables={"rtp_port": str(rtp_sink.getsockname()[1]), "user": "otp", "password": "s3cret"},
    )
    outcome = await place(far_end, username="otp", password="s3cret")
    finish(far_end)  # sipp's verifyauth accepted our Authorization, or it sent 403

    assert outcome.status is CallStatus.ANSWERED
    first, second = only(far_end.received(), "INVITE")
    (ack,) = only(far_end.received(), "ACK")[1:]  # the first ACKs the 401
    assert ack.get("Authorization") == second.get("Authorization")  # RFC 3261 §13.2.2.4
    assert second.cseq == (2, "INVITE")
    assert second.branch != first.branch
    auth = dict(part.strip().split("=", 1) for part in second.get("Authorization")[7:].split(","))
    fields = {k: v.strip('"') for k, v in auth.items()}
    assert (fields["qop"], fields["nc"], fields["realm"]) == ("auth", "00000001", "voiceotp.test")
    assert fields["opaque"] == "5ccc069c403ebaf9"

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5("otp:voiceotp.test:s3cret"), md5(f"INVITE:{second.uri}")
    expected = md5(f"{ha1}:{fields['nonce']}:00000001:{fields['cnonce']}:auth:{ha2}")
    assert fields["response"] == expected


async def test_wrong_password_ends_failed(sipp: StartSipp, rtp_sink: socket.socket) -> None:
    far_end = sipp(
        "auth",
        variables={"rtp_port": str(rtp_sink.getsockname()[1]), "user": "otp", "password": "right"},
    )
    outcome = await place(far_end, username="otp", password="wrong")
    finish(far_end)

    assert (outcome.status, outcome.sip_code) == (CallStatus.FAILED, 403)


async def test_lost_invite_is_retransmitted(sipp: StartSipp, rtp_sink: socket.socket) -> None:
    far_end = sipp(
        "answer", variables={"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    )
    relay = LossyRelay(("127.0.0.1", far_end.port), lose=b"INVITE")
    host, port = await relay.start()
    dialer = SipDialer(SipTrunk(host=host, port=port, t1_s=0.1))
    try:
        outcome = await dialer.dial(CallRequest("v-lost", MOBILE, make_audio(0.2)))
    finally:
        await dialer.aclose()
        relay.close()
    finish(far_end)

    assert outcome.status is CallStatus.ANSWERED
    (lost,) = relay.dropped
    (invite,) = only(far_end.received(), "INVITE")
    assert parse_message(lost).branch == invite.branch  # Timer A resent the same transaction
    assert drain(rtp_sink)


async def test_callee_hang_up_is_acknowledged(sipp: StartSipp, rtp_sink: socket.socket) -> None:
    far_end = sipp("callee_hangup", variables={"rtp_port": str(rtp_sink.getsockname()[1])})
    outcome = await place(far_end, seconds=5.0)
    finish(far_end)  # sipp got 200 OK for its BYE

    assert outcome.status is CallStatus.ANSWERED
    assert "callee hung up" in outcome.detail
    packets = drain(rtp_sink)
    assert 0 < len(packets) < 250
    assert outcome.detail.startswith(f"played {len(packets) * 0.02:.2f} s")  # not all 5 s
    assert not only(far_end.received(), "BYE")


async def test_call_cap_cuts_playback(sipp: StartSipp, rtp_sink: socket.socket) -> None:
    far_end = sipp(
        "answer", variables={"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    )
    outcome = await place(far_end, seconds=3.0, max_duration_s=0.3)
    finish(far_end)

    assert outcome.status is CallStatus.ANSWERED
    assert len(drain(rtp_sink)) == 15
    assert outcome.detail.startswith("played 0.30 s of PCMU")  # what was sent, not the file


async def test_closing_the_dialer_cancels_a_ringing_call(sipp: StartSipp) -> None:
    far_end = sipp("ring_timeout")
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=far_end.port, t1_s=0.1))
    call = asyncio.create_task(dialer.dial(CallRequest("v-close", MOBILE, make_audio(0.2))))
    while not any(m.status == 180 for m in far_end.sent()):
        await asyncio.sleep(0.02)
    await dialer.aclose()
    outcome = await call
    finish(far_end)

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.CANCELED, 487, 31)


async def test_concurrent_calls_share_one_socket(sipp: StartSipp, rtp_sink: socket.socket) -> None:
    far_end = sipp(
        "answer",
        calls=5,
        variables={"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"},
    )
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=far_end.port, t1_s=0.1))
    try:
        outcomes = await asyncio.gather(
            *(dialer.dial(CallRequest(f"v{n}", MOBILE, make_audio(0.4))) for n in range(5))
        )
    finally:
        await dialer.aclose()
    finish(far_end)

    assert [o.status for o in outcomes] == [CallStatus.ANSWERED] * 5
    by_stream: dict[int, int] = {}
    for packet in drain(rtp_sink):
        by_stream[packet.ssrc] = by_stream.get(packet.ssrc, 0) + 1
    assert sorted(by_stream.values()) == [20] * 5
    invites = only(far_end.received(), "INVITE")
    assert len({m.call_id for m in invites}) == 5
    origins = [
        next(x for x in m.body.decode().split("\r\n") if x.startswith("o=")) for m in invites
    ]
    assert len({o.split()[1] for o in origins}) == 5  # RFC 4566 §5.2: a unique session id


async def test_rtp_from_the_callee_is_counted_on_the_call_record(sipp: StartSipp) -> None:
    far_end = sipp("answer_echo", extra=["-rtp_echo"])  # sipp sends our RTP back to us
    outcome = await place(far_end, seconds=0.6)
    finish(far_end)

    assert outcome.status is CallStatus.ANSWERED
    # counted once our BYE is answered; sipp's echo thread may still hold the last packet
    assert re.search(r"RTP in (29|30) packets, 0 lost, jitter \d+\.\d ms", outcome.detail)


async def test_rtp_ports_in_a_range_are_even_with_rtcp_next(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    far_end = sipp(
        "answer",
        calls=4,
        variables={"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"},
    )
    low = rtp_sink.getsockname()[1] + 101  # odd: the first pair starts one above
    trunk = SipTrunk(
        host="127.0.0.1", port=far_end.port, t1_s=0.1, rtp_port_min=low, rtp_port_max=low + 40
    )
    dialer = SipDialer(trunk)
    try:
        outcomes = await asyncio.gather(
            *(dialer.dial(CallRequest(f"v{n}", MOBILE, make_audio(0.2))) for n in range(4))
        )
    finally:
        await dialer.aclose()
    finish(far_end)

    assert [o.status for o in outcomes] == [CallStatus.ANSWERED] * 4
    ports = sorted(offer_port(m) for m in only(far_end.received(), "INVITE"))
    assert len(set(ports)) == 4  # never shared
    assert all(p % 2 == 0 and low < p < low + 40 for p in ports)  # even, RTCP p + 1 in range


# -- press 1 to repeat (按1重听) ------------------------------------------------------------
async def dial_for_keys(far_end: Sipp, repeat_key: str) -> CallOutcome:
    trunk = SipTrunk(
        host="127.0.0.1", port=far_end.port, t1_s=0.1, repeat_key=repeat_key, repeat_wait_s=0.5
    )
    dialer = SipDialer(trunk)
    try:
        return await dialer.dial(CallRequest("v-keys", MOBILE, make_audio(1.0)))
    finally:
        await dialer.aclose()


def assert_one_continuous_stream(packets: list[Packet]) -> None:
    assert len({p.ssrc for p in packets}) == 1
    assert all((b.seq - a.seq) & 0xFFFF == 1 for a, b in itertools.pairwise(packets))
    assert all(b.timestamp - a.timestamp == 160 for a, b in itertools.pairwise(packets))


@pytest.mark.parametrize("scenario", ["dtmf_rtp", "dtmf_info"])
async def test_pressing_the_repeat_key_plays_the_code_again(
    sipp: StartSipp, rtp_sink: socket.socket, scenario: str
) -> None:
    far_end = sipp(scenario, variables={"rtp_port": str(rtp_sink.getsockname()[1])})
    outcome = await dial_for_keys(far_end, repeat_key="1")
    finish(far_end)  # for INFO: sipp got our 200

    assert outcome.status is CallStatus.ANSWERED
    assert "callee pressed 1, replayed 1x" in outcome.detail
    packets = drain(rtp_sink)
    assert len(packets) > 50  # the start of the code, then all of it again
    assert_one_continuous_stream(packets)  # same SSRC, no gap in sequence or time
    again = reassemble(packets[-50:])
    assert correlation("PCMU", make_audio(1.0)["PCMU"], again) >= 0.99
    (invite,) = only(far_end.received(), "INVITE")
    assert b"a=rtpmap:101 telephone-event/8000" in invite.body


async def test_another_key_is_noted_but_does_not_repeat(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    far_end = sipp("dtmf_rtp", variables={"rtp_port": str(rtp_sink.getsockname()[1])})
    outcome = await dial_for_keys(far_end, repeat_key="#")
    finish(far_end)

    assert "callee pressed 1, replayed 0x" in outcome.detail
    assert len(drain(rtp_sink)) == 50
