"""SipDialer behaviour that needs no far end: deadlines, unreachable trunks, strays."""

from __future__ import annotations

import asyncio
import socket
import sys
import time

import pytest

from tests.delivery.dialer.conftest import make_audio
from tests.delivery.dialer.contract import check_dialer
from tests.delivery.dialer.sipp import free_udp_port
from voiceotp.delivery.dialer import CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk
from voiceotp.delivery.dialer.sip.message import parse_message

MOBILE = "13800138000"


def test_is_a_dialer() -> None:
    check_dialer(SipDialer(SipTrunk(host="127.0.0.1")))


async def test_expired_call_is_never_dialed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trunk:
        trunk.bind(("127.0.0.1", 0))
        trunk.setblocking(False)
        dialer = SipDialer(SipTrunk(host="127.0.0.1", port=trunk.getsockname()[1]))
        request = CallRequest("v", MOBILE, make_audio(0.1), deadline=time.time() - 1)
        outcome = await dialer.dial(request)
        await dialer.aclose()
        assert (outcome.status, outcome.sip_code, outcome.invite_at) == (
            CallStatus.EXPIRED,
            None,
            None,
        )
        with pytest.raises(BlockingIOError):
            trunk.recv(4096)


async def test_silent_trunk_fails_after_timer_b() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as trunk:
        trunk.bind(("127.0.0.1", 0))
        trunk.setblocking(False)
        # a name, not an address: resolved once when the dialer starts
        dialer = SipDialer(SipTrunk(host="localhost", port=trunk.getsockname()[1], t1_s=0.01))
        outcome = await dialer.dial(CallRequest("v", MOBILE, make_audio(0.1)))
        await dialer.aclose()
        invites = []
        while True:
            try:
                invites.append(parse_message(trunk.recv(4096)))
            except BlockingIOError:
                break
    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, None, 38)
    assert "Timer B" in outcome.detail
    # Timer A: sent at 0, 1, 3, 7, 15, 31 x T1 (and 63 at the same instant as Timer B)
    assert 6 <= len(invites) <= 7
    assert {m.branch for m in invites} == {invites[0].branch}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="IP_RECVERR is Linux's")
async def test_nobody_listening_fails_at_the_icmp_refusal_not_at_timer_b() -> None:
    # T1 = 0.5 s: Timer B would end the call only after 32 s
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=free_udp_port()))
    outcome = await dialer.dial(CallRequest("v", MOBILE, make_audio(0.1)))
    await dialer.aclose()

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, None, 38)
    assert "the network refused the INVITE (ECONNREFUSED)" in outcome.detail
    assert "Timer B" not in outcome.detail


async def test_unknown_call_id_gets_481_and_closed_dialer_cancels() -> None:
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=free_udp_port()))
    transport = await dialer.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        bye = (
            "BYE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKq\r\n"
            "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: nope\r\n"
            "CSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n"
        )
        peer.sendto(bye.encode(), transport.local_address)
        async with asyncio.timeout(5):
            answer = parse_message(await asyncio.get_running_loop().sock_recv(peer, 4096))
    assert (answer.status, answer.cseq, answer.call_id) == (481, (5, "BYE"), "nope")
    await dialer.aclose()
    outcome = await dialer.dial(CallRequest("v", MOBILE, make_audio(0.1)))
    assert outcome.status is CallStatus.CANCELED


def test_trunk_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="codecs"):
        SipTrunk(host="h", codecs=("G729",))
    with pytest.raises(ValueError, match="t1_s"):
        SipTrunk(host="h", t1_s=0)
    assert "password" not in repr(SipTrunk(host="h", password="secret"))
    assert SipTrunk(host="h", port=5080).sip_domain == "h:5080"


async def test_unresolvable_trunk_fails_the_call_without_raising() -> None:
    dialer = SipDialer(SipTrunk(host="no-such-trunk.invalid", t1_s=0.01))
    outcome = await dialer.dial(CallRequest("v", MOBILE, make_audio(0.1)))
    await dialer.aclose()
    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, None, 38)
    assert "no-such-trunk.invalid" in outcome.detail


async def test_call_without_audio_in_an_offered_codec_is_a_caller_error() -> None:
    dialer = SipDialer(SipTrunk(host="127.0.0.1", codecs=("PCMA",)))
    with pytest.raises(ValueError, match="no audio"):
        await dialer.dial(CallRequest("v", MOBILE, {"PCMU": b"\xff" * 160}))


def test_missing_sipp_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.delivery.dialer import sipp

    monkeypatch.setattr(sipp, "SIPP", "/nonexistent/sipp")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required when CI=true"):
        sipp.require_sipp()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        sipp.require_sipp()
