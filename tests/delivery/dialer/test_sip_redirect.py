"""3xx redirects against real sipps: followed in q-order, within limits, never in a loop,
never to an address the operator did not allow (scenarios/redirect.xml)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from tests.delivery.dialer.conftest import make_audio
from tests.delivery.dialer.sipp import Sipp, free_udp_port
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk
from voiceotp.delivery.dialer.sip.message import SipMessage

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(60)]
MOBILE = "13800138000"
StartSipp = Callable[..., Sipp]


def contact(port: int, host: str = "127.0.0.1", user: str = MOBILE) -> str:
    return f"<sip:{user}@{host}:{port}>"


def answering(sipp: StartSipp, rtp_sink: socket.socket) -> Sipp:
    variables = {"rtp_port": str(rtp_sink.getsockname()[1]), "pt": "0", "codec": "PCMU"}
    return sipp("answer", variables=variables)


async def place(first: Sipp, **trunk_options: object) -> CallOutcome:
    trunk = SipTrunk(host="127.0.0.1", port=first.port, t1_s=0.1, **trunk_options)  # type: ignore[arg-type]
    dialer = SipDialer(trunk)
    try:
        return await dialer.dial(CallRequest("v-redirect", MOBILE, make_audio(0.2)))
    finally:
        await dialer.aclose()


def finish(*processes: Sipp) -> None:
    for process in processes:
        code = process.wait(20)
        assert code == 0, f"sipp failed:\n{process.errors()}\n{process.messages()[-3000:]}"


def invites(process: Sipp) -> list[SipMessage]:
    return [m for m in process.received() if m.method == "INVITE"]


async def test_a_302_is_acked_and_its_contact_invited(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    callee = answering(sipp, rtp_sink)
    redirector = sipp("redirect", variables={"contact": contact(callee.port, user="8613800")})
    outcome = await place(redirector)
    finish(redirector, callee)  # the redirector got the ACK of its 302

    assert (outcome.status, outcome.sip_code) == (CallStatus.ANSWERED, 200)
    assert outcome.detail.startswith(f"redirected to 127.0.0.1:{callee.port}; played")
    (first,), (second,) = invites(redirector), invites(callee)
    assert second.uri == f"sip:8613800@127.0.0.1:{callee.port}"  # the Contact
    assert second.get("To") == first.get("To")  # To, From, Call-ID stay (§8.1.3.4)
    assert second.call_id == first.call_id
    assert second.cseq == (2, "INVITE")
    assert second.branch != first.branch
    ack, bye = (m for m in callee.received() if m.method in ("ACK", "BYE"))
    assert (ack.cseq, bye.cseq) == ((2, "ACK"), (3, "BYE"))  # the dialog is with the callee


async def test_contacts_are_tried_in_q_order_and_a_refusal_moves_on(
    sipp: StartSipp, rtp_sink: socket.socket
) -> None:
    busy = sipp("busy")
    callee = answering(sipp, rtp_sink)
    targets = f"{contact(callee.port)};q=0.5, {contact(busy.port)};q=0.9"
    redirector = sipp("redirect", variables={"contact": targets})
    outcome = await place(redirector)
    finish(redirector, busy, callee)

    assert outcome.status is CallStatus.ANSWERED
    assert outcome.detail.startswith(
        f"redirected to 127.0.0.1:{busy.port}; 486 Busy Here; redirected to 127.0.0.1:{callee.port}"
    )


async def test_a_redirect_loop_is_not_followed(sipp: StartSipp) -> None:
    first_port = free_udp_port()
    second = sipp("redirect", variables={"contact": contact(first_port)})  # back to the start
    first = sipp("redirect", port=first_port, variables={"contact": contact(second.port)})
    outcome = await place(first)
    finish(first, second)  # both 302s ACKed

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.FAILED, 302, 31)
    assert "302 not followed: redirect loop" in outcome.detail
    assert len(invites(first)) == 1


async def test_redirects_stop_at_the_limit(sipp: StartSipp) -> None:
    third = sipp("redirect", variables={"contact": contact(free_udp_port())})
    second = sipp("redirect", variables={"contact": contact(third.port)})
    first = sipp("redirect", variables={"contact": contact(second.port)})
    outcome = await place(first, max_redirects=2)
    finish(first, second, third)

    assert (outcome.status, outcome.sip_code) == (CallStatus.FAILED, 302)
    assert "302 not followed: too many redirects (limit 2)" in outcome.detail
    assert outcome.detail.count("redirected to") == 2


@pytest.mark.parametrize("allowed", [(), ("127.0.0.2/32",)])
async def test_a_redirect_off_the_trunk_is_refused_unless_allowed(
    sipp: StartSipp, allowed: tuple[str, ...]
) -> None:
    # 127.0.0.2 is loopback too, but not the trunk's address: another host
    variables = {"rtp_port": str(free_udp_port()), "pt": "0", "codec": "PCMU"}
    elsewhere = sipp("answer", host="127.0.0.2", variables=variables)
    first = sipp("redirect", variables={"contact": contact(elsewhere.port, host="127.0.0.2")})
    outcome = await place(first, redirect_networks=allowed)
    finish(first)

    if allowed:
        finish(elsewhere)
        assert outcome.status is CallStatus.ANSWERED
        assert outcome.detail.startswith(f"redirected to 127.0.0.2:{elsewhere.port}; played")
        return
    assert (outcome.status, outcome.sip_code) == (CallStatus.FAILED, 302)
    assert f"redirect to 127.0.0.2:{elsewhere.port} refused" in outcome.detail
    assert not elsewhere.received()  # never called
