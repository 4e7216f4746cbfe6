"""SipMessage.branch reads the top Via only, without splitting every Via value."""

from __future__ import annotations

from voiceotp.delivery.dialer.sip.message import parse_message


def test_the_top_via_branch_is_read_past_a_quoted_comma() -> None:
    message = parse_message(
        b'SIP/2.0 486 Busy\r\nVia: SIP/2.0/UDP h;x="a,b";branch=z9hG4bKq, SIP/2.0/UDP o;branch=z'
        b"\r\nVia: SIP/2.0/UDP p;branch=zz\r\ni: c\r\nCSeq: 1 INVITE\r\n\r\n"
    )
    assert message.branch == "z9hG4bKq"
    assert message.get_all("Via")[1:] == ["SIP/2.0/UDP o;branch=z", "SIP/2.0/UDP p;branch=zz"]


def test_the_top_via_branch_of_a_plain_via_list() -> None:
    message = parse_message(
        b"SIP/2.0 100 Trying\r\nv: SIP/2.0/UDP a;branch=z9hG4bKtop;rport ,SIP/2.0/UDP b;branch=x"
        b"\r\ni: c\r\nCSeq: 1 INVITE\r\n\r\n"
    )
    assert message.branch == "z9hG4bKtop"
