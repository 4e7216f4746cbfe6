"""SRTP keyed in the SDP (SDES, RFC 4568) against a callee with its own libsrtp sessions.

Debian's sipp has no SRTP, so the callee is the scripted carrier plus pylibsrtp used
independently: it reads our key from our SDP with its own parsing, decrypts what we
send and compares it with the prompt byte for byte, and sends SRTP (a key press,
an RTCP receiver report) that the dialer must decrypt to act upon.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import socket
import struct
from collections.abc import AsyncIterator, Iterator

import pytest
from pylibsrtp import Error, Policy, Session

from tests.delivery.dialer.carrier import Carrier
from tests.delivery.dialer.conftest import bind_media_pair, make_audio
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk
from voiceotp.delivery.dialer.sip.message import SipMessage
from voiceotp.delivery.dialer.sip.srtp import CryptoLine, SrtpOffer, parse_crypto

pytestmark = pytest.mark.timeout(30)
MOBILE = "13800138000"
PROFILES = {
    "AES_CM_128_HMAC_SHA1_80": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 10),
    "AES_CM_128_HMAC_SHA1_32": (Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 4),
}


@pytest.fixture
async def carrier() -> AsyncIterator[Carrier]:
    far_end = Carrier()
    yield far_end
    far_end.close()


@pytest.fixture
def media() -> Iterator[tuple[socket.socket, socket.socket]]:
    rtp, rtcp = bind_media_pair()
    for sock in (rtp, rtcp):
        sock.setblocking(False)
    yield rtp, rtcp
    rtp.close()
    rtcp.close()


class Callee:
    """The callee's side of SDES: its own key, and libsrtp sessions for each direction."""

    def __init__(self, invite: SipMessage, suite: str) -> None:
        offer = invite.body.decode()
        found = re.findall(r"a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)", offer)
        self.offered = {s: (int(tag), base64.b64decode(key)) for tag, s, key in found}
        self.tag, dialer_key = self.offered[suite]
        self.suite, self.key = suite, os.urandom(30)
        profile, self.tag_bytes = PROFILES[suite]
        inbound = Policy(dialer_key, Policy.SSRC_ANY_INBOUND, srtp_profile=profile)
        outbound = Policy(self.key, Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
        self.rx, self.tx = Session(inbound), Session(outbound)
        self.dialer_port = int(offer.split("m=audio ")[1].split()[0])

    def crypto(self) -> str:
        return f"a=crypto:{self.tag} {self.suite} inline:{base64.b64encode(self.key).decode()}"


def answer_sdp(port: int, *lines: str, profile: str = "RTP/SAVP") -> bytes:
    body = ["v=0", "o=callee 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0"]
    body += [f"m=audio {port} {profile} 0 101", "a=rtpmap:0 PCMU/8000"]
    body += ["a=rtpmap:101 telephone-event/8000", *lines]
    return ("\r\n".join(body) + "\r\n").encode()


def event(key: int, seq: int, *, end: bool) -> bytes:
    payload = struct.pack("!BBH", key, (0x80 if end else 0) | 10, 400)
    return struct.pack("!BBHII", 0x80, 101, seq, 8000, 0xCA11EE) + payload


def receiver_report(about: int) -> bytes:
    """An RR from the callee's SSRC with one block about ``about``: 3 lost, jitter 80."""
    block = struct.pack("!IIIIII", about, (25 << 24) | 3, 100, 80, 0, 0)
    return struct.pack("!BBHI", 0x81, 201, 7, 0xCA11EE) + block


async def dialing(
    carrier: Carrier, seconds: float = 0.2, **trunk: object
) -> tuple[SipDialer, asyncio.Task[CallOutcome], SipMessage]:
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=carrier.port, t1_s=0.1, **trunk))  # type: ignore[arg-type]
    call = asyncio.create_task(dialer.dial(CallRequest("v-s", MOBILE, make_audio(seconds))))
    return dialer, call, await carrier.recv("INVITE")


async def answer(carrier: Carrier, invite: SipMessage, body: bytes) -> None:
    carrier.respond(invite, 200, "OK", headers=[("Contact", "<sip:c@127.0.0.1>")], body=body)
    await carrier.recv("ACK")


async def recv(sock: socket.socket, count: int) -> list[bytes]:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        return [await loop.sock_recv(sock, 4096) for _ in range(count)]


@pytest.mark.parametrize("suite", list(PROFILES))
async def test_srtp_both_ways_prompt_key_press_and_rtcp(
    carrier: Carrier, media: tuple[socket.socket, socket.socket], suite: str
) -> None:
    rtp, rtcp = media
    dialer, call, invite = await dialing(
        carrier, srtp="require", repeat_key="1", repeat_wait_s=10.0, max_repeats=1
    )
    assert re.search(r"m=audio \d+ RTP/SAVP ", invite.body.decode())
    callee = Callee(invite, suite)
    for n in range(3):  # plain RTP before the answer: not counted, SRTP is required
        plain_rtp = struct.pack("!BBHII", 0x80, 0, 400 + n, 160 * n, 0xCA11EE) + b"\xff" * 160
        rtp.sendto(plain_rtp, ("127.0.0.1", callee.dialer_port))
    await answer(carrier, invite, answer_sdp(rtp.getsockname()[1], callee.crypto()))
    first = await recv(rtp, 10)  # the whole 0.2 s code, encrypted
    for n, end in enumerate((False, True, True)):  # the key 1, in SRTP
        rtp.sendto(callee.tx.protect(event(1, 500 + n, end=end)), ("127.0.0.1", callee.dialer_port))
    second = await recv(rtp, 10)  # played again: the press was decrypted and acted upon
    plain = [callee.rx.unprotect(p) for p in first + second]
    ssrc = struct.unpack_from("!I", plain[0], 8)[0]
    to_rtcp = ("127.0.0.1", callee.dialer_port + 1)
    rtcp.sendto(callee.tx.protect_rtcp(receiver_report(ssrc)), to_rtcp)
    bye = await carrier.recv("BYE")
    carrier.respond(bye, 200, "OK")
    outcome = await call
    final_rtcp = (await recv(rtcp, 1))[0]  # the last SRTCP compound, with our RTCP BYE
    await dialer.aclose()

    audio = make_audio(0.2)["PCMU"]
    assert all(len(p) == 12 + 160 + callee.tag_bytes for p in first + second)
    assert all(p[12:172] != audio[i * 160 : (i + 1) * 160] for i, p in enumerate(first))
    assert b"".join(p[12:] for p in plain[:10]) == audio  # byte for byte, after decryption
    assert b"".join(p[12:] for p in plain[10:]) == audio
    report = callee.rx.unprotect_rtcp(final_rtcp)
    assert report[1] == 200
    assert struct.unpack_from("!I", report, 4)[0] == ssrc
    assert report[-8:-4] == struct.pack("!BBH", 0x81, 203, 1)  # SR ... BYE, decrypted
    assert outcome.status == CallStatus.ANSWERED
    assert f"over SRTP ({suite})" in outcome.detail
    assert "callee pressed 1, replayed 1x" in outcome.detail
    assert "callee RTCP: 3 lost" in outcome.detail  # its SRTCP report was decrypted
    assert outcome.media is not None
    assert outcome.media.received == 3  # the key's SRTP packets, not the plain ones


async def test_tampered_and_plain_packets_are_dropped(
    carrier: Carrier, media: tuple[socket.socket, socket.socket]
) -> None:
    rtp, _ = media
    dialer, call, invite = await dialing(carrier, srtp="offer", repeat_key="1", repeat_wait_s=0.3)
    callee = Callee(invite, "AES_CM_128_HMAC_SHA1_80")
    await answer(carrier, invite, answer_sdp(rtp.getsockname()[1], callee.crypto()))
    await recv(rtp, 1)
    to_dialer = ("127.0.0.1", callee.dialer_port)
    for n, end in enumerate((False, True, True)):
        packet = bytearray(callee.tx.protect(event(1, 500 + n, end=end)))
        packet[13] ^= 0x01  # one bit of the encrypted payload
        rtp.sendto(bytes(packet), to_dialer)
    rtp.sendto(event(1, 600, end=False), to_dialer)  # in the clear
    bye = await carrier.recv("BYE")
    carrier.respond(bye, 200, "OK")
    outcome = await call
    await dialer.aclose()

    assert "callee pressed" not in outcome.detail
    assert "4 packets failed SRTP authentication" in outcome.detail
    assert "no RTP from callee" in outcome.detail


async def test_required_srtp_and_an_answer_without_crypto_sends_nothing(
    carrier: Carrier, media: tuple[socket.socket, socket.socket]
) -> None:
    rtp, rtcp = media
    dialer, call, invite = await dialing(carrier, srtp="require")
    await answer(carrier, invite, answer_sdp(rtp.getsockname()[1], profile="RTP/AVP"))
    bye = await carrier.recv("BYE")
    carrier.respond(bye, 200, "OK")
    outcome = await call
    await dialer.aclose()

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, 200, 88)
    assert "SRTP required" in outcome.detail
    assert "cause=88" in bye.get("Reason")
    for sock in (rtp, rtcp):
        with pytest.raises(BlockingIOError):
            sock.recv(4096)  # not one packet in the clear


async def test_offered_srtp_falls_back_to_plain_rtp_for_a_plain_answer(
    carrier: Carrier, media: tuple[socket.socket, socket.socket]
) -> None:
    rtp, _ = media
    dialer, call, invite = await dialing(carrier, srtp="offer")
    body = invite.body.decode()
    assert re.search(r"m=audio \d+ RTP/AVP ", body)
    assert body.count("a=crypto:") == 2  # best effort: keys in a plain offer
    await answer(carrier, invite, answer_sdp(rtp.getsockname()[1], profile="RTP/AVP"))
    packets = await recv(rtp, 10)
    bye = await carrier.recv("BYE")
    carrier.respond(bye, 200, "OK")
    outcome = await call
    await dialer.aclose()

    assert b"".join(p[12:] for p in packets) == make_audio(0.2)["PCMU"]
    assert outcome.status == CallStatus.ANSWERED
    assert "SRTP" not in outcome.detail


async def test_each_call_offers_fresh_keys() -> None:
    first, second = SrtpOffer.create("offer"), SrtpOffer.create("offer")
    assert [line.suite for line in first.lines] == list(PROFILES)
    assert {line.key for line in first.lines}.isdisjoint(line.key for line in second.lines)
    assert SrtpOffer.create("off").attributes() == []
    with pytest.raises(ValueError, match="srtp"):
        SipTrunk(host="h", srtp="maybe")


def test_srtp_without_libsrtp_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("voiceotp.delivery.dialer.sip.config.find_spec", lambda name: None)
    with pytest.raises(ValueError, match="pylibsrtp"):
        SipTrunk(host="h", srtp="offer")
    SipTrunk(host="h")  # off: not needed


def test_crypto_attribute_parsing() -> None:
    key = base64.b64encode(bytes(range(30))).decode()
    line = parse_crypto(f"crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20")
    assert line == CryptoLine(1, "AES_CM_128_HMAC_SHA1_80", bytes(range(30)))
    assert parse_crypto(line.render()) == line
    assert parse_crypto(f"crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20|1:4") is None  # MKI
    assert parse_crypto(f"crypto:1 AES_256_CM_HMAC_SHA1_80 inline:{key}") is None
    assert parse_crypto(f"crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key} UNENCRYPTED_SRTP") is None
    assert parse_crypto("crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA") is None  # 3 bytes
    assert parse_crypto("crypto:1 AES_CM_128_HMAC_SHA1_80 inline:not base64!") is None


def test_the_callee_cannot_read_what_another_key_protected() -> None:
    """The test callee's sessions are real libsrtp: a wrong key fails authentication."""
    profile = Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    tx = Session(Policy(os.urandom(30), Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
    rx = Session(Policy(os.urandom(30), Policy.SSRC_ANY_INBOUND, srtp_profile=profile))
    with pytest.raises(Error):
        rx.unprotect(tx.protect(event(1, 1, end=False)))
