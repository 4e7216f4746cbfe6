"""The sans-I/O part of 3xx handling: Contacts in q-order, loops, limits, allowed hosts."""

from __future__ import annotations

import pytest

from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.message import SipMessage
from voiceotp.delivery.dialer.sip.redirect import Redirects, contact_targets


def moved(*contacts: str) -> SipMessage:
    return SipMessage(status=302, reason="Moved", headers=[("Contact", c) for c in contacts])


def test_contacts_come_highest_q_first_and_unreachable_ones_are_left_out() -> None:
    response = moved(
        "<sip:a@10.0.0.1>;q=0.2, <sip:b@10.0.0.2:5070;transport=udp>",
        "<sips:c@10.0.0.3>",  # TLS: not over our socket
        "<sip:d@10.0.0.4;transport=tcp>;q=1",
        "<tel:+861380013>",
        "<sip:e@10.0.0.5>;q=0.7",
    )
    targets = contact_targets(response)
    assert [(t.host, t.port, t.q) for t in targets] == [
        ("10.0.0.2", 5070, 1.0),
        ("10.0.0.5", 5060, 0.7),
        ("10.0.0.1", 5060, 0.2),
    ]
    assert targets[0].where == "10.0.0.2:5070"  # no user part: it may be a phone number


def test_a_target_is_tried_once_whatever_its_spelling() -> None:
    redirects = Redirects("10.0.0.1")
    redirects.start("sip:138@Trunk.example")
    assert redirects.follow(moved("<sip:138@trunk.example:5060;user=phone>")) is not None
    assert redirects.follow(moved("<sip:139@trunk.example>")) is None
    assert redirects.next_target() is not None
    assert redirects.next_target() is None
    assert redirects.follow(moved("<sip:139@trunk.example:5060>")) == (
        "redirect loop or no usable Contact"
    )


def test_redirects_are_limited() -> None:
    redirects = Redirects("10.0.0.1", max_redirects=1)
    assert redirects.follow(moved("<sip:1@10.0.0.1>")) is None
    assert redirects.follow(moved("<sip:2@10.0.0.1>")) == "too many redirects (limit 1)"
    assert Redirects("10.0.0.1", max_redirects=0).follow(moved("<sip:1@h>")) is not None


def test_only_the_trunk_and_allowed_networks_may_receive_a_redirected_call() -> None:
    redirects = Redirects("192.0.2.10", ("198.51.100.0/28",))
    assert redirects.allowed("192.0.2.10")
    assert redirects.allowed("198.51.100.7")
    assert not redirects.allowed("198.51.100.16")
    assert not redirects.allowed("192.0.2.11")
    assert not redirects.allowed("not-an-address")


def test_the_trunk_refuses_a_bad_redirect_network() -> None:
    with pytest.raises(ValueError):
        SipTrunk(host="h", redirect_networks=("10.0.0.0/33",))
    with pytest.raises(ValueError):
        SipTrunk(host="h", max_redirects=-1)
    trunk = SipTrunk(host="h", redirect_networks=["10.0.0.0/8"])  # type: ignore[arg-type]
    assert trunk.redirect_networks == ("10.0.0.0/8",)  # a TOML list becomes a tuple
