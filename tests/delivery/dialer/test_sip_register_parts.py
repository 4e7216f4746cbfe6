"""The sans-I/O parts of REGISTER: requests, the Expires granted, the backoff, settings."""

from __future__ import annotations

import pytest

from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.message import SipMessage, parse_message
from voiceotp.delivery.dialer.sip.register import RegisterLeg, granted_expires, register_backoff

CONTACT = "sip:voiceotp@192.0.2.1:5062"


def ok(*headers: tuple[str, str]) -> SipMessage:
    return SipMessage(status=200, reason="OK", headers=list(headers))


def test_register_requests_keep_the_call_id_and_raise_the_cseq() -> None:
    leg = RegisterLeg("sip:trunk.example", "sip:gw@trunk.example", CONTACT, "192.0.2.1:5062")
    first = parse_message(leg.register(3600).to_bytes())
    second = parse_message(leg.register(0, auth=("Authorization", "Digest x")).to_bytes())
    assert first.uri == "sip:trunk.example"
    assert first.call_id == second.call_id
    assert (first.cseq, second.cseq) == ((1, "REGISTER"), (2, "REGISTER"))
    assert first.branch != second.branch
    assert first.get("From").startswith("<sip:gw@trunk.example>;tag=")
    assert first.get("To") == "<sip:gw@trunk.example>"
    assert (first.get("Contact"), first.get("Expires")) == (f"<{CONTACT}>", "3600")
    assert (second.get("Expires"), second.get("Authorization")) == ("0", "Digest x")


def test_the_expires_granted_is_our_contacts_then_the_header_then_ours() -> None:
    others = ("Contact", "<sip:other@192.0.2.9>;expires=30")
    ours = ("Contact", f"<{CONTACT}>;expires=120")
    assert granted_expires(ok(others, ours, ("Expires", "90")), CONTACT, 3600) == 120
    assert granted_expires(ok(others, ("Expires", "90")), CONTACT, 3600) == 90
    assert granted_expires(ok(others), CONTACT, 3600) == 3600


def test_the_backoff_doubles_to_a_cap_with_jitter_below_it() -> None:
    assert [register_backoff(n, 30.0, 0.0) for n in (1, 2, 3)] == [30.0, 60.0, 120.0]
    assert register_backoff(20, 30.0, 0.0) == 600.0
    assert register_backoff(1, 30.0, 0.999) == pytest.approx(15.0, abs=0.1)


def test_the_registrar_setting() -> None:
    assert SipTrunk(host="t.example", port=5070).registrar_address == ("t.example", 5070)
    # no port: not fixed, so RFC 3263 applies (SRV, else 5060)
    assert SipTrunk(host="t", registrar="reg.example").registrar_address == ("reg.example", 0)
    assert SipTrunk(host="t", registrar="10.0.0.1:5080").registrar_address == ("10.0.0.1", 5080)
    with pytest.raises(ValueError):
        SipTrunk(host="t", register_expires=0)
