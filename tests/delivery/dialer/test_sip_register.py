"""REGISTER against a real sipp registrar: digest challenge, refresh, retry, removal."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
from collections.abc import Callable

import pytest

from tests.delivery.dialer.conftest import make_audio
from tests.delivery.dialer.sipp import Sipp
from voiceotp.delivery.dialer import CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk
from voiceotp.delivery.dialer.sip.message import SipMessage
from voiceotp.delivery.dialer.sip.register import RegistrationState

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(60)]
StartSipp = Callable[..., Sipp]


def registrar_trunk(sipp: Sipp, **options: object) -> SipTrunk:
    return SipTrunk(
        host="127.0.0.1",
        port=sipp.port,
        t1_s=0.1,
        register=True,
        register_expires=60,
        **options,  # type: ignore[arg-type]
    )


async def until_sipp_sent(sipp: Sipp, status: int, count: int) -> None:
    """Wait on sipp's progress (its message log), not on a clock."""
    while sum(m.status == status for m in sipp.sent()) < count:
        await asyncio.sleep(0.02)


def finish(sipp: Sipp) -> None:
    code = sipp.wait(20)
    assert code == 0, f"sipp scenario failed:\n{sipp.errors()}\n{sipp.messages()[-3000:]}"


def registers(sipp: Sipp) -> list[SipMessage]:
    return [m for m in sipp.received() if m.method == "REGISTER"]


def digest_fields(message: SipMessage) -> dict[str, str]:
    parts = (p.strip().split("=", 1) for p in message.get("Authorization")[7:].split(","))
    return {k: v.strip('"') for k, v in parts}


async def test_register_answers_the_challenge_refreshes_and_unregisters(
    sipp: StartSipp,
) -> None:
    registrar = sipp("register", variables={"user": "gw1", "password": "s3cret", "expires": "2"})
    dialer = SipDialer(registrar_trunk(registrar, username="gw1", password="s3cret"))
    await dialer.start()
    await until_sipp_sent(registrar, 200, 1)
    await until_sipp_sent(registrar, 401, 2)  # the refresh came, about 1 s after (2 s / 2)
    await until_sipp_sent(registrar, 200, 2)
    while dialer.registration_state is not RegistrationState.REGISTERED:
        await asyncio.sleep(0.02)  # our side may not have read the 200 yet
    await dialer.aclose()
    finish(registrar)  # verifyauth accepted both answers, and the binding was removed

    assert dialer.registration_state is RegistrationState.UNREGISTERED
    sent = registers(registrar)
    first, answered, refresh, refreshed = sent[:4]
    removal = sent[-1]
    assert {m.call_id for m in sent} == {first.call_id}  # one binding (§10.2.4)
    assert [m.cseq[0] for m in sent] == list(range(1, len(sent) + 1))
    assert first.uri == f"sip:127.0.0.1:{registrar.port}"
    assert first.get("To") == f"<sip:gw1@127.0.0.1:{registrar.port}>"
    assert (first.get("Expires"), refresh.get("Expires"), removal.get("Expires")) == (
        "60",
        "60",
        "0",
    )
    assert removal.get("Contact") == first.get("Contact") != "*"  # ours only
    assert not first.get("Authorization")
    fields = digest_fields(refreshed)
    assert fields["nonce"].endswith("second")  # the refresh answered its own challenge

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5("gw1:voiceotp.test:s3cret"), md5(f"REGISTER:{answered.uri}")
    fields = digest_fields(answered)
    expected = md5(f"{ha1}:{fields['nonce']}:00000001:{fields['cnonce']}:auth:{ha2}")
    assert fields["response"] == expected


async def test_a_failed_register_is_logged_and_retried(
    sipp: StartSipp, caplog: pytest.LogCaptureFixture
) -> None:
    registrar = sipp("register_retry", variables={"expires": "600"})
    dialer = SipDialer(registrar_trunk(registrar, register_retry_s=0.05))
    with caplog.at_level(logging.WARNING):
        await dialer.start()
        await until_sipp_sent(registrar, 200, 1)
        while dialer.registration_state is not RegistrationState.REGISTERED:
            assert dialer.registration_state in (
                RegistrationState.FAILED,
                RegistrationState.REGISTERING,
            )
            await asyncio.sleep(0.02)
    await dialer.aclose()
    finish(registrar)

    assert dialer.registration is not None
    assert dialer.registration.last_error == ""  # the retry succeeded
    assert "SIP registration at 127.0.0.1" in caplog.text
    assert "failed (503 Service Unavailable); retrying in" in caplog.text
    assert len(registers(registrar)) == 3  # 503, retried and accepted, removed


async def test_a_trunk_without_registration_registers_nothing() -> None:
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=9))
    await dialer.start()
    assert dialer.registration_state is RegistrationState.OFF
    await dialer.aclose()


async def test_the_first_call_waits_for_the_registration(sipp: StartSipp) -> None:
    trunk_sipp = sipp("register_call", calls=2)
    dialer = SipDialer(registrar_trunk(trunk_sipp))  # dial() starts the dialer itself
    outcome = await dialer.dial(CallRequest("v-reg", "13800138000", make_audio(0.2)))
    await dialer.aclose()
    finish(trunk_sipp)

    assert outcome.status is CallStatus.BUSY
    requests = [(m.method, m.cseq) for m in trunk_sipp.received() if m.method != "ACK"]
    order = [method for method, _ in dict.fromkeys(requests)]  # without retransmissions
    assert order == ["REGISTER", "INVITE", "REGISTER"]  # registered, called, removed
    log = trunk_sipp.messages()
    assert log.index("SIP/2.0 200 OK") < log.index("INVITE sip:")  # not before the 200


async def test_closing_while_a_call_waits_for_a_silent_registrar() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as registrar:
        registrar.bind(("127.0.0.1", 0))
        registrar.setblocking(False)
        trunk = SipTrunk(host="127.0.0.1", port=registrar.getsockname()[1], register=True)
        dialer = SipDialer(trunk)
        call = asyncio.create_task(dialer.dial(CallRequest("v", "13800138000", make_audio(0.1))))
        register = await asyncio.get_running_loop().sock_recv(registrar, 4096)
        assert register.startswith(b"REGISTER ")
        await dialer.aclose()
        outcome = await call

    assert outcome.status is CallStatus.CANCELED
    assert dialer.registration_state is RegistrationState.REGISTERING  # never answered
