"""The sans-I/O parts of the SIP dialer: messages, digest, SDP, RTP, G.711."""

from __future__ import annotations

import collections
import struct
import warnings
from array import array

import pytest

from voiceotp.delivery.dialer import g711
from voiceotp.delivery.dialer.rtp import RtpStream
from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.dialog import CallLeg, response_to
from voiceotp.delivery.dialer.sip.digest import (
    DigestError,
    answer_challenge,
    authorization,
    digest_response,
    parse_challenge,
)
from voiceotp.delivery.dialer.sip.dtmf import EventDecoder, info_key
from voiceotp.delivery.dialer.sip.icmp import call_id_of
from voiceotp.delivery.dialer.sip.message import (
    SipParseError,
    header_params,
    parse_message,
    uri_of,
)
from voiceotp.delivery.dialer.sip.sdp import build_offer, parse_answer

RESPONSE = (
    b"SIP/2.0 180 Ringing\r\n"
    b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKtop;rport, "
    b"SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKx\r\n"
    b"f: <sip:otp@trunk>;tag=abc\r\n"
    b't: "Callee" <sip:138@trunk>;tag=xyz\r\n'
    b"i: call-1@host\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Subject: a folded\r\n"
    b" header\r\n"
    b"l: 4\r\n\r\nbodyEXTRA"
)


def test_parse_response_with_compact_and_folded_headers() -> None:
    message = parse_message(RESPONSE)
    assert (message.status, message.reason, message.is_request) == (180, "Ringing", False)
    assert message.call_id == "call-1@host"
    assert message.branch == "z9hG4bKtop"  # the top Via only
    assert message.cseq == (7, "INVITE")
    assert message.get("Subject") == "a folded header"
    assert message.body == b"body"
    assert header_params(message.get("To"))["tag"] == "xyz"
    assert uri_of(message.get("To")) == "sip:138@trunk"


def test_message_round_trips() -> None:
    message = parse_message(RESPONSE)
    again = parse_message(message.to_bytes())
    assert (again.status, again.headers[:5], again.body) == (180, message.headers[:5], b"body")


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        b"HELLO\r\n\r\n",
        b"SIP/2.0 abc OK\r\n\r\n",
        b"INVITE sip:x SIP/3.0\r\n\r\n",
        b"SIP/2.0 700 Odd\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n",  # no such class
        b"SIP/2.0 200 OK\r\nCall-ID: a\r\nCSeq: one INVITE\r\n\r\n",
        b"BYE sip:x SIP/2.0\r\nCSeq: 2 BYE\r\n\r\n",  # no Call-ID
    ],
)
def test_unreadable_datagrams_raise(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_message(data)


def test_rfc_2617_digest_vector() -> None:
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    response = digest_response(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        nc=1,
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_authorization_header_carries_qop_nc_cnonce_and_opaque() -> None:
    challenge = parse_challenge('Digest realm="r", nonce="n, with comma", qop=auth, opaque="o"')
    assert challenge.nonce == "n, with comma"
    value = authorization(challenge, method="INVITE", uri="sip:1@t", username="u", password="p")
    assert value.startswith("Digest ")
    for part in ('realm="r"', "qop=auth", "nc=00000001", "cnonce=", 'opaque="o"', 'uri="sip:1@t"'):
        assert part in value


def test_challenge_without_qop_uses_rfc_2069_response() -> None:
    challenge = parse_challenge('Digest realm="r", nonce="n"')
    value = authorization(challenge, method="INVITE", uri="sip:1@t", username="u", password="p")
    assert "qop" not in value


@pytest.mark.parametrize(
    "header",
    ['Basic realm="r"', 'Digest realm="r", nonce="n", algorithm=SHA-256', "Digest nonce=n"],
)
def test_unusable_challenges_raise(header: str) -> None:
    with pytest.raises(DigestError):
        parse_challenge(header)


def test_sdp_offer_lists_both_g711_codecs() -> None:
    offer = build_offer(session_id=1, host="10.0.0.1", port=4000, codecs=["PCMA", "PCMU"]).decode()
    assert "m=audio 4000 RTP/AVP 8 0\r\n" in offer
    assert "a=rtpmap:0 PCMU/8000" in offer


def test_sdp_answer_picks_first_offered_format_and_media_level_address() -> None:
    answer = b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 7000 RTP/AVP 18 8 0\r\nc=IN IP4 2.2.2.2\r\n"
    media = parse_answer(answer, ["PCMU", "PCMA"])
    assert media is not None
    assert (media.host, media.port, media.codec, media.payload_type) == ("2.2.2.2", 7000, "PCMA", 8)


def test_sdp_answer_with_dynamic_payload_name_or_rejected_stream() -> None:
    dynamic = b"c=IN IP4 1.1.1.1\r\nm=audio 7000 RTP/AVP 101\r\na=rtpmap:101 pcmu/8000\r\n"
    media = parse_answer(dynamic, ["PCMU"])
    assert media is not None
    assert (media.codec, media.payload_type) == ("PCMU", 101)
    assert parse_answer(b"c=IN IP4 1.1.1.1\r\nm=audio 0 RTP/AVP 0\r\n", ["PCMU"]) is None
    assert parse_answer(b"c=IN IP4 1.1.1.1\r\nm=audio 9 RTP/AVP 18\r\n", ["PCMU"]) is None


class MemoryTransport:
    """An in-memory datagram transport collecting what is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, address: tuple[str, int]) -> None:
        self.sent.append((data, address))

    def is_closing(self) -> bool:
        return False


async def test_rtp_stream_is_drift_free_and_well_formed() -> None:
    transport = MemoryTransport()
    now = [100.0]
    payload = bytes(range(256)) + bytes(range(224))  # 480 bytes: 3 frames
    stream = RtpStream(transport, ("1.2.3.4", 5), payload + b"\x01" * 80, 8, start=100.0)  # type: ignore[arg-type]
    lateness: collections.deque[float] = collections.deque()
    stream.send_due(lambda: now[0], lateness)
    assert len(transport.sent) == 1
    now[0] = 100.045  # a late tick sends both packets due by then, not one
    stream.send_due(lambda: now[0], lateness)
    assert len(transport.sent) == 3
    assert not stream.done.is_set()
    headers = [struct.unpack("!BBHII", data[:12]) for data, _ in transport.sent]
    assert [h[1] for h in headers] == [0x80 | 8, 8, 8]  # marker on the first packet only
    assert [(h[2] - headers[0][2]) & 0xFFFF for h in headers] == [0, 1, 2]
    assert [h[3] - headers[0][3] for h in headers] == [0, 160, 320]
    assert len({h[4] for h in headers}) == 1
    assert b"".join(data[12:] for data, _ in transport.sent) == payload
    assert {address for _, address in transport.sent} == {("1.2.3.4", 5)}
    assert lateness[0] == 0.0
    assert lateness[2] == pytest.approx(0.005)
    now[0] = 100.06
    stream.send_due(lambda: now[0], lateness)
    assert stream.done.is_set()
    assert transport.sent[3][0][12:] == b"\x01" * 80 + b"\xd5" * 80  # padded with A-law silence


def test_last_frame_is_padded_with_silence() -> None:
    stream = RtpStream(MemoryTransport(), ("h", 1), b"\x01" * 200, 0, start=0.0)  # type: ignore[arg-type]
    assert stream.frames == 2
    assert stream.payload[200:] == b"\xff" * 120


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_g711_round_trip_is_close(codec: str) -> None:
    samples = array("h", range(-32000, 32000, 97))
    decoded = g711.decode(codec, g711.encode(codec, samples))
    assert all(abs(a - b) <= max(16, abs(a) // 16) for a, b in zip(samples, decoded, strict=True))


def test_g711_silence_values() -> None:
    assert g711.encode("PCMU", [0]) == b"\xff"
    assert g711.encode("PCMA", [0]) == b"\xd5"


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_g711_matches_the_reference_codec(codec: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # removed in Python 3.13
    samples = array("h", range(-32768, 32768, 3))
    encode = audioop.lin2ulaw if codec == "PCMU" else audioop.lin2alaw
    decode = audioop.ulaw2lin if codec == "PCMU" else audioop.alaw2lin
    assert g711.encode(codec, samples) == encode(samples.tobytes(), 2)
    every_byte = bytes(range(256))
    assert g711.decode(codec, every_byte).tobytes() == decode(every_byte, 2)


def test_proxy_challenge_is_answered_with_proxy_authorization() -> None:
    invite = CallLeg("sip:1@t", "sip:u@t", "sip:u@h:1", "h:1").invite(b"")
    challenge = response_to(invite, 407, "Proxy Authentication Required")
    challenge.headers.append(("Proxy-Authenticate", 'Digest realm="p", nonce="n", qop="auth"'))
    name, value = answer_challenge(challenge, invite, username="u", password="p") or ("", "")
    assert name == "Proxy-Authorization"
    assert 'uri="sip:1@t"' in value
    assert answer_challenge(challenge, invite, username="u", password="") is None


def test_ack_of_a_2xx_repeats_the_invites_proxy_credentials() -> None:
    leg = CallLeg("sip:1@t", "sip:u@t", "sip:u@h:1", "h:1")
    invite = leg.invite(b"", auth=("Proxy-Authorization", 'Digest username="u", response="r"'))
    answer = response_to(invite, 200, "OK")
    answer.headers.append(("Contact", "<sip:callee@10.0.0.9>"))
    leg.confirm(answer)
    ack = leg.ack_success(invite)
    assert ack.get("Proxy-Authorization") == invite.get("Proxy-Authorization")  # §13.2.2.4
    assert ack.uri == "sip:callee@10.0.0.9"


def test_call_id_is_read_from_the_start_of_a_refused_datagram() -> None:
    invite = CallLeg("sip:1@t", "sip:u@t", "sip:u@h:1", "h:1").invite(b"v=0\r\n" * 200)
    quoted = invite.to_bytes()[:548]  # what an ICMP error quotes of a long INVITE
    assert call_id_of(quoted) == invite.call_id
    assert call_id_of(b"BYE sip:x SIP/2.0\r\ni: abc@h\r\nCSeq: 1 BYE\r\n") == "abc@h"
    assert call_id_of(b"\x80\x00 not SIP") == ""


def test_telephone_events_become_one_key_per_press() -> None:
    decoder = EventDecoder()
    press = [decoder.key(bytes([11, end, 0, 160]), 8000) for end in (0, 0, 0x80, 0x80)]
    assert press == ["#", None, None, None]  # one press, however many packets
    assert decoder.key(bytes([11, 0, 0, 160]), 9600) == "#"  # a new start: a new press
    assert decoder.key(bytes([16, 0, 0, 160]), 11200) is None  # flash is not a key
    assert decoder.key(b"\x01", 12800) is None


@pytest.mark.parametrize(
    ("content_type", "body", "key"),
    [
        ("application/dtmf-relay", b"Signal=1\r\nDuration=160\r\n", "1"),
        ("Application/DTMF-Relay; charset=x", b"signal= *\r\n", "*"),
        ("application/dtmf", b"#", "#"),
        ("application/dtmf-relay", b"Signal=A\r\n", None),
        ("text/plain", b"1", None),
    ],
)
def test_sip_info_keys(content_type: str, body: bytes, key: str | None) -> None:
    assert info_key(content_type, body) == key


def test_offer_with_telephone_events_and_their_answer() -> None:
    offer = build_offer(session_id=1, host="h", port=2, codecs=["PCMU"], telephone_event=101)
    assert b"m=audio 2 RTP/AVP 0 101\r\n" in offer
    assert b"a=fmtp:101 0-15\r\n" in offer
    answer = parse_answer(
        b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 0 96\r\n"
        b"a=rtpmap:96 telephone-event/8000\r\na=rtcp:5009\r\n",
        ["PCMU"],
    )
    assert answer is not None
    assert (answer.event_payload_type, answer.rtcp_address) == (96, ("1.2.3.4", 5009))
    with pytest.raises(ValueError, match="repeat_key"):
        SipTrunk(host="h", repeat_key="11")
