"""The sans-I/O parts of several trunks: ranking (priority, RFC 2782 weights), per-trunk
limits, health from ping results, the failover predicate, settings."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.dialer.sip import SipTrunk
from voiceotp.delivery.dialer.sip.health import TrunkHealth, options_request, ping_alive
from voiceotp.delivery.dialer.sip.message import SipMessage, parse_message
from voiceotp.delivery.dialer.sip.outcome import CallProgress, failover_reason
from voiceotp.delivery.dialer.sip.trunks import (
    TrunkLoad,
    check_trunks,
    rank_trunks,
    weighted_order,
)
from voiceotp.delivery.metrics import DeliveryMetrics


def response(status: int, *, tag: bool = True, body: bytes = b"", reason: str = "") -> SipMessage:
    to = "<sip:13800138000@trunk>" + (";tag=abc" if tag else "")
    headers = [("To", to), ("CSeq", "1 INVITE")]
    if reason:
        headers.append(("Reason", reason))
    return SipMessage(status=status, reason="x", headers=headers, body=body)


def progress_of(*responses: SipMessage) -> CallProgress:
    progress = CallProgress()
    for message in responses:
        progress.saw(message)
    return progress


def failed(code: int | None, status: CallStatus = CallStatus.FAILED) -> CallOutcome:
    return CallOutcome(status, code, None)


# -- failover: only when the callee provably was not reached ------------------------------
@pytest.mark.parametrize("code", [500, 502, 503, 504, 408, 401, 407])
def test_trunk_failures_without_a_dialog_fail_over(code: int) -> None:
    progress = progress_of(response(100, tag=False), response(code))
    status = CallStatus.NO_ANSWER if code == 408 else CallStatus.FAILED
    assert failover_reason(failed(code, status), progress) == f"trunk answered {code}"


def test_no_response_at_all_fails_over() -> None:
    assert failover_reason(failed(None), CallProgress()) == "no response"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (486, CallStatus.BUSY),
        (600, CallStatus.BUSY),
        (603, CallStatus.REJECTED),
        (404, CallStatus.FAILED),
        (484, CallStatus.FAILED),
        (480, CallStatus.NO_ANSWER),
        (403, CallStatus.FAILED),
        (302, CallStatus.FAILED),
    ],
)
def test_answers_of_the_callee_side_never_fail_over(code: int, status: CallStatus) -> None:
    progress = progress_of(response(100, tag=False), response(code))
    assert failover_reason(failed(code, status), progress) is None


@pytest.mark.parametrize(
    "before",
    [
        response(180),  # ringing with a To tag: a dialog with the callee's side
        response(183, tag=True, body=b"v=0\r\n"),  # early media
        response(183, tag=False, body=b"v=0\r\n"),  # early media even without a tag
        response(180, tag=False),  # a trunk that forgets the tag still rang the phone
    ],
)
def test_a_503_after_the_callee_was_reached_never_fails_over(before: SipMessage) -> None:
    progress = progress_of(before, response(503))
    assert failover_reason(failed(503), progress) is None


def test_a_503_whose_reason_is_the_callee_never_fails_over() -> None:
    busy = response(503, reason="Q.850;cause=17")  # user busy behind a PSTN gateway
    assert failover_reason(failed(503), progress_of(busy)) is None
    unallocated = response(503, reason="Q.850;cause=1")
    assert failover_reason(failed(503), progress_of(unallocated)) is None
    congested = response(503, reason="Q.850;cause=34")  # no circuit: the network's
    assert failover_reason(failed(503), progress_of(congested)) == "trunk answered 503"


def test_answered_cancelled_expired_or_provisional_only_never_fail_over() -> None:
    assert failover_reason(failed(200, CallStatus.ANSWERED), progress_of(response(200))) is None
    assert failover_reason(failed(None, CallStatus.CANCELED), CallProgress()) is None
    assert failover_reason(failed(None, CallStatus.EXPIRED), CallProgress()) is None
    trying = progress_of(response(100, tag=False))  # then no final: we do not know
    assert failover_reason(failed(None), trying) is None
    assert failover_reason(failed(487, CallStatus.NO_ANSWER), trying) is None


# -- ranking ----------------------------------------------------------------------------
def test_weighted_order_follows_the_weights() -> None:
    rand = random.Random(1)
    firsts = Counter(weighted_order("abc", [6, 3, 1], rand)[0] for _ in range(20000))
    assert firsts["a"] / 20000 == pytest.approx(0.6, abs=0.02)
    assert firsts["b"] / 20000 == pytest.approx(0.3, abs=0.02)
    assert firsts["c"] / 20000 == pytest.approx(0.1, abs=0.02)


def test_weight_zero_comes_after_the_others_and_every_target_is_kept() -> None:
    rand = random.Random(2)
    orders = [weighted_order("azb", [5, 0, 5], rand) for _ in range(2000)]
    assert all(order[2] == "z" for order in orders)
    assert 900 < sum(order[0] == "a" for order in orders) < 1100
    assert weighted_order("xy", [0, 0], rand) == ["x", "y"]  # configured order


def test_three_to_one_is_three_quarters() -> None:
    # RFC 2782's inclusive draw from 0 would give the first entry 80 %
    rand = random.Random(4)
    firsts = Counter(weighted_order("ab", [3, 1], rand)[0] for _ in range(20000))
    assert firsts["a"] / 20000 == pytest.approx(0.75, abs=0.015)


def test_lower_priority_comes_first_whatever_the_weights() -> None:
    trunks = [
        SipTrunk(host="c", name="c", priority=2, weight=1000),
        SipTrunk(host="a", name="a", priority=1, weight=1),
        SipTrunk(host="b", name="b", priority=1, weight=1),
    ]
    rand = random.Random(3)
    for _ in range(200):
        ranked = [t.name for t in rank_trunks(trunks, rand)]
        assert ranked[2] == "c"
        assert sorted(ranked[:2]) == ["a", "b"]


# -- limits -----------------------------------------------------------------------------
def test_concurrency_cap() -> None:
    load = TrunkLoad(max_concurrent=2, calls_per_s=100.0)
    load.take(0.0)
    load.take(0.0)
    assert not load.free(0.0)
    assert load.free_at(0.0) == math.inf  # no point waking before a call ends
    load.release()
    assert load.free(0.0)
    assert load.free_at(0.0) == 0.0


def test_calls_per_second_bucket() -> None:
    load = TrunkLoad(calls_per_s=2.0)  # bursts of 2, then one every 0.5 s
    for _ in range(2):
        assert load.free(10.0)
        load.take(10.0)
    assert not load.free(10.0)
    assert load.free_at(10.0) == pytest.approx(10.5)
    assert not load.free(10.4)
    assert load.free(10.5)
    unlimited = TrunkLoad()
    for _ in range(100):
        unlimited.take(0.0)
    assert unlimited.free(0.0)


# -- health -----------------------------------------------------------------------------
def test_health_goes_down_after_misses_and_up_after_answers() -> None:
    health = TrunkHealth(down_after=3, up_after=2)
    assert health.up
    assert [health.record(False, "t") for _ in range(3)] == [False, False, True]
    assert not health.up
    assert health.last_error == "t"
    assert [health.record(True), health.record(False), health.record(True)] == [False] * 3
    assert not health.up  # answers must come in a row
    assert health.record(True)
    assert health.up
    assert not health.record(False)  # one miss does not take it out again


@pytest.mark.parametrize(("status", "alive"), [(200, True), (404, True), (407, True), (503, False)])
def test_any_answer_but_503_is_alive(status: int, alive: bool) -> None:
    assert ping_alive(SipMessage(status=status, reason="x")) is alive
    assert not ping_alive(None)


def test_options_request_is_out_of_dialog() -> None:
    trunk = SipTrunk(host="sbc.example", from_user="gw")
    message = parse_message(
        options_request(trunk, "10.0.0.1:5070", "sip:gw@10.0.0.1:5070").to_bytes()
    )
    assert (message.method, message.uri, message.cseq) == (
        "OPTIONS",
        "sip:sbc.example",
        (1, "OPTIONS"),
    )
    assert "tag=" not in message.get("To")
    assert message.branch.startswith("z9hG4bK")


# -- settings and metrics ----------------------------------------------------------------
def test_several_trunks_from_settings() -> None:
    conf = DeliverySettings.from_mapping(
        {
            "dialer": "sip",
            "trunks": [
                {"name": "a", "host": "10.0.0.1", "priority": 1, "weight": 3, "max_concurrent": 30},
                {
                    "name": "b",
                    "host": "10.0.0.2",
                    "priority": 2,
                    "calls_per_s": 5,
                    "codecs": ["PCMA"],
                },
            ],
        }
    )
    assert [(t.label, t.priority, t.weight) for t in conf.trunks] == [("a", 1, 3), ("b", 2, 1)]
    assert conf.trunks[1].codecs == ("PCMA",)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"trunk": {"host": "x"}, "trunks": [{"host": "y"}]}, "not both"),
        ({"trunks": [{"host": "x"}, {"host": "x"}]}, "unique"),
        (
            {"trunks": [{"host": "x", "bind_port": 5060}, {"host": "y", "bind_port": 5060}]},
            "bind_port",
        ),
        ({"trunks": [{"host": "x", "weight": -1}]}, "negative"),
        ({"trunks": [{"host": "x", "down_after": 0}]}, "at least 1"),
        ({"trunks": [{"host": "x", "prio": 1}]}, "unknown"),
    ],
)
def test_bad_trunk_lists_are_refused(raw: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        DeliverySettings.from_mapping({"dialer": "sip", **raw})
    with pytest.raises(ValueError, match="at least one"):
        check_trunks([])


def test_trunk_up_metric() -> None:
    registry = CollectorRegistry()
    state = {"a": True, "b": False}
    DeliveryMetrics(registry, None, trunk_names=["a", "b"], trunks_up=lambda: state)  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    assert 'voiceotp_sip_trunk_up{trunk="a"} 1.0' in text
    assert 'voiceotp_sip_trunk_up{trunk="b"} 0.0' in text
    state["b"] = True
    assert 'voiceotp_sip_trunk_up{trunk="b"} 1.0' in generate_latest(registry).decode()
