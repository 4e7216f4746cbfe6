"""SIP over TCP (sipp -t t1) and TLS (haproxy with a test CA in front of a TCP sipp)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.delivery.dialer.conftest import make_audio
from tests.delivery.dialer.rtpcheck import drain
from tests.delivery.dialer.sipp import Sipp, free_tcp_port
from tests.delivery.dialer.tlskit import TestCA, TlsTerminator
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk
from voiceotp.delivery.dialer.sip.message import SipMessage
from voiceotp.delivery.dialer.sip.register import RegistrationState

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(60)]
MOBILE = "13800138000"
StartSipp = Callable[..., Sipp]


async def place(trunk: SipTrunk, seconds: float = 0.4) -> CallOutcome:
    dialer = SipDialer(trunk)
    try:
        return await dialer.dial(CallRequest("v-stream", MOBILE, make_audio(seconds)))
    finally:
        await dialer.aclose()


def answering(sipp: StartSipp, rtp_sink: socket.socket, scenario: str = "answer") -> Sipp:
    variables = {"rtp_port": str(rtp_sink.getsockname()[1])}
    if scenario == "answer":
        variables |= {"pt": "0", "codec": "PCMU"}
    return sipp(scenario, variables=variables, transport="tcp")


def finish(process: Sipp) -> None:
    code = process.wait(20)
    assert code == 0, f"sipp failed:\n{process.errors()}\n{process.messages()[-3000:]}"


def only(messages: list[SipMessage], method: str) -> list[SipMessage]:
    return [m for m in messages if m.method == method]


@pytest.fixture
def terminators() -> Iterator[list[TlsTerminator]]:
    started: list[TlsTerminator] = []
    yield started
    for terminator in started:
        terminator.stop()


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    """A trunk CA with a certificate for sip.trunk.test and 127.0.0.1, a client CA with a
    certificate for us, and another CA nobody uses."""
    trunk_ca = TestCA(tmp_path, "trunk")
    server = trunk_ca.issue("server", ["sip.trunk.test", "127.0.0.1"])
    client_ca = TestCA(tmp_path, "client")
    client = client_ca.issue("client", ["gateway.test"], client=True)
    other = TestCA(tmp_path, "other")
    return {
        "ca": trunk_ca.pem,
        "server": server.bundle,
        "client_ca": client_ca.pem,
        "client_cert": client.cert,
        "client_key": client.key,
        "other_ca": other.pem,
    }


async def test_a_call_over_tcp_uses_one_connection_and_no_retransmissions(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    far_end = answering(sipp, rtp_sink)
    trunk = SipTrunk(host="127.0.0.1", port=far_end.port, transport="tcp", t1_s=0.1)
    outcome = await place(trunk, seconds=0.4)
    finish(far_end)

    assert (outcome.status, outcome.sip_code) == (CallStatus.ANSWERED, 200)
    assert len(drain(rtp_sink)) == 20
    received = far_end.received()
    (invite,) = only(received, "INVITE")  # reliable transport: Timer A is not started
    assert invite.get("Via").startswith("SIP/2.0/TCP ")
    assert invite.get("Via").endswith(";alias")
    assert invite.uri == f"sip:{MOBILE}@127.0.0.1:{far_end.port};transport=tcp"
    assert invite.get("Contact").endswith(";transport=tcp>")
    assert [m.method for m in received] == ["INVITE", "ACK", "BYE"]


async def test_a_callee_hangup_arrives_on_our_tcp_connection(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    far_end = answering(sipp, rtp_sink, "callee_hangup")
    trunk = SipTrunk(host="127.0.0.1", port=far_end.port, transport="tcp", t1_s=0.1)
    outcome = await place(trunk, seconds=3.0)
    finish(far_end)  # sipp got our 200 to its BYE, on the connection it sent it on

    assert outcome.status is CallStatus.ANSWERED
    assert "callee hung up" in outcome.detail


async def test_nobody_listening_on_tcp_fails_at_once_as_unreachable() -> None:
    # T1 = 0.5 s: Timer B would take 32 s; the refused connection ends the call at once
    trunk = SipTrunk(host="127.0.0.1", port=free_tcp_port(), transport="tcp")
    async with asyncio.timeout(10):
        outcome = await place(trunk)
    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, None, 38)
    assert "ECONNREFUSED" in outcome.detail


def tls_trunk(front: TlsTerminator, **options: object) -> SipTrunk:
    return SipTrunk(host="127.0.0.1", port=front.port, transport="tls", t1_s=0.1, **options)  # type: ignore[arg-type]


async def test_a_call_over_tls_with_the_trunks_ca(
    sipp: StartSipp,
    rtp_sink: socket.socket,
    tmp_path: Path,
    pki: dict[str, Path],
    terminators: list[TlsTerminator],
) -> None:
    far_end = answering(sipp, rtp_sink)
    front = TlsTerminator(tmp_path, pki["server"], far_end.port)
    terminators.append(front)
    outcome = await place(tls_trunk(front, tls_ca_file=str(pki["ca"])))
    finish(far_end)

    assert (outcome.status, outcome.sip_code) == (CallStatus.ANSWERED, 200)
    assert len(drain(rtp_sink)) == 20
    (invite,) = only(far_end.received(), "INVITE")
    assert invite.get("Via").startswith("SIP/2.0/TLS ")
    assert invite.uri == f"sip:{MOBILE}@127.0.0.1:{front.port};transport=tls"
    assert invite.get("Contact").endswith(";transport=tls>")


async def test_sips_uris_when_the_trunk_wants_them(
    sipp: StartSipp,
    rtp_sink: socket.socket,
    tmp_path: Path,
    pki: dict[str, Path],
    terminators: list[TlsTerminator],
) -> None:
    far_end = answering(sipp, rtp_sink)
    front = TlsTerminator(tmp_path, pki["server"], far_end.port)
    terminators.append(front)
    trunk = tls_trunk(
        front,
        tls_ca_file=str(pki["ca"]),
        tls_server_name="sip.trunk.test",  # the certificate's DNS name, not the address
        uri_scheme="sips",
    )
    outcome = await place(trunk)
    finish(far_end)

    assert outcome.status is CallStatus.ANSWERED
    (invite,) = only(far_end.received(), "INVITE")
    assert invite.uri == f"sips:{MOBILE}@127.0.0.1:{front.port}"
    assert invite.get("Contact").startswith("<sips:")


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"ca": "other_ca"}, "unable to get local issuer certificate"),
        ({"ca": "ca", "tls_server_name": "evil.test"}, "Hostname mismatch"),
        ({}, "unable to get local issuer certificate"),  # the system's CAs do not know it
    ],
    ids=["wrong CA", "wrong host name", "no CA file"],
)
async def test_a_trunk_certificate_we_cannot_verify_ends_the_call_before_any_sip(
    sipp: StartSipp,
    rtp_sink: socket.socket,
    tmp_path: Path,
    pki: dict[str, Path],
    terminators: list[TlsTerminator],
    options: dict[str, str],
    why: str,
) -> None:
    far_end = answering(sipp, rtp_sink)
    front = TlsTerminator(tmp_path, pki["server"], far_end.port)
    terminators.append(front)
    settings = {k: v for k, v in options.items() if k != "ca"}
    if "ca" in options:
        settings["tls_ca_file"] = str(pki[options["ca"]])
    async with asyncio.timeout(10):  # not Timer B (6.4 s here, 32 s by default)
        outcome = await place(tls_trunk(front, **settings))

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, None, 38)
    assert "TLS certificate not accepted" in outcome.detail
    assert why in outcome.detail
    assert far_end.received() == []  # no SIP reached the far end (haproxy ends the TLS)
    assert far_end.process.poll() is None  # sipp is still waiting for its call


async def test_mutual_tls_presents_our_certificate(
    sipp: StartSipp,
    rtp_sink: socket.socket,
    tmp_path: Path,
    pki: dict[str, Path],
    terminators: list[TlsTerminator],
) -> None:
    far_end = answering(sipp, rtp_sink)
    front = TlsTerminator(tmp_path, pki["server"], far_end.port, client_ca=pki["client_ca"])
    terminators.append(front)
    refused = await place(tls_trunk(front, tls_ca_file=str(pki["ca"])))
    # TLS 1.3: the handshake ends on our side before haproxy checks for our certificate,
    # so its alert arrives as the INVITE leaves and fails the call (not Timer B)
    assert (refused.status, refused.q850) == (CallStatus.FAILED, 38)
    assert "TLS handshake failed: TLSV13_ALERT_CERTIFICATE_REQUIRED" in refused.detail
    assert far_end.received() == []

    outcome = await place(
        tls_trunk(
            front,
            tls_ca_file=str(pki["ca"]),
            tls_cert_file=str(pki["client_cert"]),
            tls_key_file=str(pki["client_key"]),
        )
    )
    finish(far_end)
    assert outcome.status is CallStatus.ANSWERED


async def test_register_over_tcp_with_digest_and_removal(sipp: StartSipp) -> None:
    registrar = sipp(
        "register",
        variables={"user": "gw1", "password": "s3cret", "expires": "2"},
        transport="tcp",
    )
    trunk = SipTrunk(
        host="127.0.0.1",
        port=registrar.port,
        transport="tcp",
        t1_s=0.1,
        register=True,
        username="gw1",
        password="s3cret",
    )
    dialer = SipDialer(trunk)
    await dialer.start()
    while sum(m.status == 200 for m in registrar.sent()) < 2:  # sipp's log: the refresh
        await asyncio.sleep(0.02)
    while dialer.registration_state is not RegistrationState.REGISTERED:
        await asyncio.sleep(0.02)  # our side may not have read the 200 yet
    await dialer.aclose()
    finish(registrar)  # sipp's verifyauth took our answer, and the binding was removed

    first, *_, removal = only(registrar.received(), "REGISTER")
    assert first.uri == f"sip:127.0.0.1:{registrar.port};transport=tcp"
    assert first.get("Via").startswith("SIP/2.0/TCP ")
    assert first.get("Contact").endswith(";transport=tcp>")
    assert removal.get("Expires") == "0"


async def test_a_302_over_tcp_is_followed_to_a_tcp_contact(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    callee = answering(sipp, rtp_sink)
    contacts = (
        f"<sip:8613800@127.0.0.1:{callee.port + 1};transport=udp>;q=0.9, "  # not ours: skipped
        f"<sip:8613800@127.0.0.1:{callee.port};transport=tcp>;q=0.5"
    )
    redirector = sipp("redirect", variables={"contact": contacts}, transport="tcp")
    trunk = SipTrunk(host="127.0.0.1", port=redirector.port, transport="tcp", t1_s=0.1)
    outcome = await place(trunk)
    finish(redirector)  # it got the ACK of its 302 on our connection
    finish(callee)

    assert outcome.status is CallStatus.ANSWERED
    assert outcome.detail.startswith(f"redirected to 127.0.0.1:{callee.port}; played")
    (invite,) = only(callee.received(), "INVITE")
    assert invite.uri == f"sip:8613800@127.0.0.1:{callee.port};transport=tcp"


async def test_an_expired_certificate_is_refused_before_any_sip(
    sipp: StartSipp,
    rtp_sink: socket.socket,
    tmp_path: Path,
    terminators: list[TlsTerminator],
) -> None:
    far_end = answering(sipp, rtp_sink)
    ca = TestCA(tmp_path, "old")
    expired = ca.issue("old", ["127.0.0.1"], expired=True)
    front = TlsTerminator(tmp_path, expired.bundle, far_end.port)
    terminators.append(front)
    async with asyncio.timeout(10):
        outcome = await place(tls_trunk(front, tls_ca_file=str(ca.pem)))

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, None, 38)
    assert "certificate has expired" in outcome.detail
    assert far_end.received() == []  # no SIP reached the far end (haproxy ends the TLS)
