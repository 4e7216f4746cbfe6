"""Client transaction timers (RFC 3261 §17.1) driven by a hand-moved clock."""

from __future__ import annotations

import math

from voiceotp.delivery.dialer.sip.dialog import CallLeg, response_to
from voiceotp.delivery.dialer.sip.message import SipMessage
from voiceotp.delivery.dialer.sip.transaction import InviteTransaction, NonInviteTransaction

T1, T2 = 0.5, 4.0


def leg() -> CallLeg:
    return CallLeg("sip:138@trunk", "sip:otp@trunk", "sip:otp@h:5", "h:5")


def invite_tx(sent: list[SipMessage]) -> tuple[InviteTransaction, SipMessage]:
    call = leg()
    invite = call.invite(b"v=0\r\n")
    tx = InviteTransaction(invite, call.cancel(invite), t1=T1, t2=T2, send=sent.append, now=0.0)
    return tx, invite


def test_invite_retransmits_with_doubling_intervals_then_times_out() -> None:
    sent: list[SipMessage] = []
    tx, _ = invite_tx(sent)
    times = []
    now = 0.0
    while (failure := tx.on_timer(now)) is None:
        times.append(now)
        now = tx.wake()
    assert failure == "no response from the trunk (Timer B)"
    assert now == 64 * T1
    assert len(sent) == 7  # 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5
    assert all(m.method == "INVITE" and m.branch == sent[0].branch for m in sent)


def test_provisional_stops_retransmission_and_timer_b() -> None:
    sent: list[SipMessage] = []
    tx, invite = invite_tx(sent)
    assert tx.on_response(response_to(invite, 180, "Ringing"), 0.1) is None
    assert tx.proceeding
    assert tx.wake() == math.inf
    assert tx.on_timer(100.0) is None
    assert len(sent) == 1


def test_cancel_waits_for_a_provisional_then_is_retransmitted_until_answered() -> None:
    sent: list[SipMessage] = []
    tx, invite = invite_tx(sent)
    tx.cancel(0.2)
    assert [m.method for m in sent] == ["INVITE"]  # RFC 3261 §9.1: not before a 1xx
    tx.on_response(response_to(invite, 183, "Session Progress"), 0.3)
    cancel = sent[-1]
    assert (cancel.method, cancel.branch, cancel.cseq) == ("CANCEL", invite.branch, (1, "CANCEL"))
    tx.on_timer(0.8)
    assert [m.method for m in sent].count("CANCEL") == 2
    tx.on_response(response_to(cancel, 200, "OK"), 0.9)
    tx.on_timer(5.0)
    assert [m.method for m in sent].count("CANCEL") == 2
    final = response_to(invite, 487, "Request Terminated")
    assert tx.on_response(final, 1.0) is final


def test_cancel_without_final_gives_up_after_64_t1() -> None:
    sent: list[SipMessage] = []
    tx, invite = invite_tx(sent)
    tx.on_response(response_to(invite, 180, "Ringing"), 0.0)
    tx.cancel(1.0)
    assert tx.on_timer(1.0 + 64 * T1 - 0.01) is None
    assert tx.on_timer(1.0 + 64 * T1) == "no final response to CANCEL within 64*T1"


def test_non_invite_timer_e_caps_at_t2_and_timer_f_expires() -> None:
    sent: list[SipMessage] = []
    bye = leg().bye()
    tx = NonInviteTransaction(bye, t1=T1, t2=T2, send=sent.append, now=0.0)
    wakes = []
    now = 0.0
    while not tx.on_timer(now):
        now = tx.wake()
        wakes.append(now)
    assert now == 64 * T1
    intervals = [b - a for a, b in zip([0.0, *wakes], wakes, strict=False)][:6]
    assert intervals == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_response_to_other_method_or_branch_is_not_owned() -> None:
    sent: list[SipMessage] = []
    bye = leg().bye()
    tx = NonInviteTransaction(bye, t1=T1, t2=T2, send=sent.append, now=0.0)
    other = leg().bye()
    assert not tx.owns(response_to(other, 200, "OK"))
    assert tx.owns(response_to(bye, 200, "OK"))
