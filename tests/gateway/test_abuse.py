"""Abuse auto-freeze: the detectors alone, then end to end (408, audit, operator clears)."""

from __future__ import annotations

import dataclasses

from tests.gateway.harness import FIXTURE, running
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.abuse import AbuseDetector, AbuseLimits
from voiceotp.protocol import Code, Method, parse_result
from voiceotp.store import Store

NOW = float(FIXTURE["now"])
OFF = AbuseLimits(distinct_numbers=0, prefix_burst=0, failure_ratio=0.0)


class Recorder:
    def __init__(self) -> None:
        self.fired: list[tuple[int, str]] = []

    async def __call__(self, account_id: int, detector: str, detail: str) -> None:
        self.fired.append((account_id, detector))


async def test_distinct_numbers_in_a_window() -> None:
    freeze = Recorder()
    detector = AbuseDetector(
        dataclasses.replace(OFF, distinct_numbers=3, distinct_window_s=60), freeze
    )
    for i in range(3):
        await detector.accepted(1, f"1380000000{i}", NOW + i)
    await detector.accepted(1, "13800000000", NOW + 3)  # a repeat is not a new number
    assert freeze.fired == []
    await detector.accepted(2, "13800000009", NOW + 3)  # another account
    await detector.accepted(1, "13800000009", NOW + 70)  # the first ones left the window
    assert freeze.fired == []
    for i in range(3):
        await detector.accepted(1, f"1390000000{i}", NOW + 71)
    assert freeze.fired == [(1, "distinct_numbers")]


async def test_prefix_burst() -> None:
    freeze = Recorder()
    detector = AbuseDetector(dataclasses.replace(OFF, prefix_burst=2, prefix_window_s=60), freeze)
    await detector.accepted(1, "13800001111", NOW)
    await detector.accepted(1, "13800002222", NOW)
    await detector.accepted(1, "13900003333", NOW)  # other prefix
    assert freeze.fired == []
    await detector.accepted(1, "13800003333", NOW + 1)
    assert freeze.fired == [(1, "prefix_burst")]


async def test_failure_ratio() -> None:
    freeze = Recorder()
    limits = dataclasses.replace(OFF, failure_ratio=0.5, failure_min_calls=4)
    detector = AbuseDetector(limits, freeze)
    for connected in (False, False, True):
        await detector.call_finished(7, connected)
    assert freeze.fired == []
    await detector.call_finished(7, False)
    assert freeze.fired == [(7, "failure_ratio")]


async def test_switched_off_detectors_never_fire() -> None:
    freeze = Recorder()
    detector = AbuseDetector(OFF, freeze)
    for i in range(500):
        await detector.accepted(1, f"138{i:08d}", NOW)
        await detector.call_finished(1, False)
    assert freeze.fired == []


async def test_freeze_answers_408_until_an_operator_clears_it(
    store: Store, settings: Settings
) -> None:
    strict = dataclasses.replace(settings, abuse_distinct_numbers=3)
    async with running(store, strict, now=NOW) as harness:
        key = "0123456789abcdef0123456789abcdef"

        async def submit(mobile: str) -> int:
            form = {"account": "V10000001", "password": key, "mobile": mobile, "content": "1125"}
            response = await harness.submit(**form)
            return parse_result(response.content, Method.SUBMIT).code

        codes = [await submit(f"1380000000{i}") for i in range(5)]
        assert codes == [2, 2, 2, 2, Code.ABUSE_FROZEN]  # the 4th crossed the line
        account = await store.get_account("V10000001")
        assert account is not None
        assert account.state == "abuse_frozen"
        events = await store.audit_events(account.id)
        assert [e.kind for e in events][-1] == "abuse_freeze"
        assert events[-1].detail.startswith("distinct_numbers")
        await harness.gateway.admin.set_state("V10000001", "active")
        assert await submit("13800000009") == Code.OK
