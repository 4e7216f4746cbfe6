from __future__ import annotations

import asyncio
import random
import wave
from pathlib import Path

import pytest

from tests.clock import FakeClock
from tests.delivery.dialer.conftest import make_audio
from tests.delivery.dialer.contract import check_dialer
from voiceotp.delivery.dialer import (
    CallRequest,
    CallStatus,
    SimulatedCarrier,
    SimulationProfile,
    g711,
)


def carrier(
    time: FakeClock, profile: SimulationProfile | None = None, **kwargs: object
) -> SimulatedCarrier:
    return SimulatedCarrier(profile, clock=time.time, sleep=time.sleep, **kwargs)  # type: ignore[arg-type]


def request(mobile: str = "13800138000", **kwargs: object) -> CallRequest:
    return CallRequest("v1", mobile, make_audio(1.5), **kwargs)  # type: ignore[arg-type]


def test_is_a_dialer() -> None:
    check_dialer(SimulatedCarrier())


async def test_answered_call_timeline_and_recording(tmp_path: Path) -> None:
    time = FakeClock()
    start = time.now
    outcome = await carrier(time, record_dir=tmp_path).dial(request())

    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.ANSWERED, 200, 16)
    assert outcome.invite_at == start
    assert outcome.ring_at == start + 1.0
    assert outcome.answer_at == start + 4.0
    assert outcome.duration_s == 1.5
    assert outcome.end_at == start + 5.5 == time.now
    assert min(time.sleeps) >= 0
    with wave.open(str(tmp_path / "v1.wav")) as recorded:
        assert (recorded.getframerate(), recorded.getsampwidth()) == (8000, 2)
        frames = recorded.readframes(recorded.getnframes())
    assert frames == g711.decode("PCMU", make_audio(1.5)["PCMU"]).tobytes()


@pytest.mark.parametrize(
    ("mobile", "status", "sip_code"),
    [
        ("13800000486", CallStatus.BUSY, 486),
        ("13800000603", CallStatus.REJECTED, 603),
        ("13800000503", CallStatus.FAILED, 503),
        ("13800000404", CallStatus.FAILED, 404),
        ("13800000480", CallStatus.NO_ANSWER, 480),
        ("13800000487", CallStatus.NO_ANSWER, 487),
        ("13800000200", CallStatus.ANSWERED, 200),
    ],
)
async def test_suffix_rules_decide_the_outcome(
    mobile: str, status: CallStatus, sip_code: int
) -> None:
    # the mix alone would give the opposite answer: rules must win
    other = CallStatus.FAILED if status is CallStatus.ANSWERED else CallStatus.ANSWERED
    profile = SimulationProfile(mix={other: 1.0})
    outcome = await carrier(FakeClock(), profile).dial(request(mobile))
    assert (outcome.status, outcome.sip_code) == (status, sip_code)


async def test_unanswered_call_rings_until_the_ring_timeout() -> None:
    time = FakeClock()
    start = time.now
    outcome = await carrier(time).dial(request("13800000487", ring_timeout_s=12.0))
    assert outcome.status is CallStatus.NO_ANSWER
    assert outcome.end_at == start + 12.0
    assert outcome.answer_at is None


async def test_answer_slower_than_ring_timeout_is_no_answer() -> None:
    profile = SimulationProfile(answer_after_s=10.0)
    outcome = await carrier(FakeClock(), profile).dial(request(ring_timeout_s=5.0))
    assert outcome.status is CallStatus.NO_ANSWER


async def test_call_cap_cuts_what_is_heard(tmp_path: Path) -> None:
    outcome = await carrier(FakeClock(), record_dir=tmp_path).dial(request(max_duration_s=0.5))
    assert outcome.duration_s == 0.5
    with wave.open(str(tmp_path / "v1.wav")) as recorded:
        assert recorded.getnframes() == 4000


async def test_past_deadline_is_expired_without_ringing() -> None:
    time = FakeClock()
    outcome = await carrier(time).dial(request(deadline=time.now - 1))
    assert outcome.status is CallStatus.EXPIRED
    assert outcome.invite_at is None
    assert time.sleeps == []


async def test_mix_is_honoured_with_a_seeded_rng() -> None:
    mix = {CallStatus.ANSWERED: 3.0, CallStatus.BUSY: 1.0}
    sim = carrier(FakeClock(), SimulationProfile(mix=mix, rules={}), rng=random.Random(5))
    statuses = [sim.choose_outcome("13812345678")[0] for _ in range(4000)]
    assert set(statuses) == {CallStatus.ANSWERED, CallStatus.BUSY}
    assert 0.70 < statuses.count(CallStatus.ANSWERED) / len(statuses) < 0.80


async def test_closed_carrier_cancels() -> None:
    sim = carrier(FakeClock())
    await sim.aclose()
    assert (await sim.dial(request())).status is CallStatus.CANCELED


class LongWaits:
    """Real sleeps that say when a call settles into a long wait (ringing, talking)."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        if seconds >= 10:
            self.waiting.set()
        await asyncio.sleep(seconds)


@pytest.mark.parametrize(("answer_after_s", "answered"), [(3600.0, False), (0.0, True)])
async def test_closing_hangs_up_calls_in_flight(answer_after_s: float, answered: bool) -> None:
    waits = LongWaits()
    profile = SimulationProfile(ring_after_s=0.0, answer_after_s=answer_after_s)
    sim = SimulatedCarrier(profile, sleep=waits.sleep)
    call = CallRequest("v1", "13800138000", make_audio(20.0), ring_timeout_s=7200.0)
    dialing = asyncio.ensure_future(sim.dial(call))
    await waits.waiting.wait()  # ringing for an hour, or playing 20 s of prompt
    await sim.aclose()
    outcome = await dialing
    assert (outcome.status, outcome.sip_code, outcome.q850) == (CallStatus.CANCELED, 487, 31)
    assert (outcome.answer_at is not None) is answered
    assert "hung up" in outcome.detail


async def test_call_id_cannot_escape_the_record_dir(tmp_path: Path) -> None:
    sim = carrier(FakeClock(), record_dir=tmp_path)
    await sim.dial(CallRequest("../../etc/x", "13800138000", make_audio(0.1)))
    assert [p.name for p in tmp_path.iterdir()] == [".._.._etc_x.wav"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mix": {}},
        {"mix": {CallStatus.ANSWERED: -1.0}},
        {"mix": {CallStatus.EXPIRED: 1.0}},
        {"rules": {"0180": 180}},
    ],
)
def test_bad_profiles_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"mix|simulated|final"):
        SimulationProfile(**kwargs)  # type: ignore[arg-type]
