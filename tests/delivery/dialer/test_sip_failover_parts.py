"""When a call may move to the trunk's next resolved target, and which target goes first
(sans I/O)."""

from __future__ import annotations

from voiceotp.delivery.dialer.sip.failover import (
    BLOCK_S,
    TargetFailover,
    TargetHealth,
    may_fail_over,
)
from voiceotp.delivery.dialer.sip.message import SipMessage
from voiceotp.delivery.dialer.sip.outcome import CallProgress
from voiceotp.delivery.dialer.sip.resolve import Target

A, B, C = (Target("udp", f"192.0.2.{n}", 5060) for n in (1, 2, 3))


def response(status: int, *, tag: bool = True, reason: str = "", body: bytes = b"") -> SipMessage:
    headers = [("To", "<sip:x@y>" + (";tag=t" if tag else "")), ("CSeq", "1 INVITE")]
    if reason:
        headers.append(("Reason", reason))
    return SipMessage(status=status, reason="R", headers=headers, body=body)


def heard(*responses: SipMessage) -> CallProgress:
    progress = CallProgress()
    for message in responses:
        progress.saw(message)
    return progress


def test_no_response_or_a_503_of_the_target_itself_may_fail_over() -> None:
    assert may_fail_over(None, heard())
    assert may_fail_over(response(503), heard(response(100, tag=False), response(503)))
    assert may_fail_over(response(503, reason="Q.850;cause=41"), heard())  # a network cause


def test_the_callee_side_answering_in_any_way_stops_failover() -> None:
    assert not may_fail_over(None, heard(response(180)))  # ringing, then silence
    assert not may_fail_over(response(503), heard(response(180, tag=False)))  # tagless too
    assert not may_fail_over(response(503), heard(response(183, body=b"v=0")))
    assert not may_fail_over(response(503, reason="Q.850;cause=17"), heard())  # busy callee
    for status in (404, 480, 486, 500, 603):
        assert not may_fail_over(response(status), heard(response(status)))


def test_targets_are_tried_in_order_and_only_while_the_rule_allows() -> None:
    failover = TargetFailover((A, B, C))
    assert failover.next_after(None, heard()) == B
    assert failover.next_after(response(486), heard(response(486))) is None
    assert failover.next_after(response(503), heard()) == C
    assert not failover.has_next
    assert failover.next_after(None, heard()) is None


def test_a_target_that_failed_lately_goes_last_then_comes_back() -> None:
    health = TargetHealth()
    health.failed(A, now=100.0)
    assert health.ordered((A, B, C), now=100.0 + BLOCK_S - 1) == (B, C, A)
    assert health.ordered((A, B, C), now=100.0 + BLOCK_S) == (A, B, C)
