"""A template's recorded part and its play count reach the call: the fence hands them
to the worker, the callee hears the recording (not espeak-ng) N times (both stores)."""

from __future__ import annotations

import dataclasses
import io
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.clock import FakeClock
from tests.gateway.harness import running
from tests.gateway.notifykit import FILLED, NOW, PARCEL, approved, notify
from tests.gateway.test_notify_delivery import ToneVoice
from voiceotp.delivery.audio import DEFAULT_TIMING, PromptLibrary
from voiceotp.delivery.dialer.simulated import SimulatedCarrier, SimulationProfile
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.queue import Job, MemoryQueue
from voiceotp.delivery.queue.worker import DialWorker, WorkerSettings
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.notifyconf import NotifySettings
from voiceotp.store import Store


def greeting(seconds: float = 0.7) -> bytes:
    rate = 16_000
    t = np.arange(round(rate * seconds)) / rate
    out = io.BytesIO()
    soundfile.write(out, 0.4 * np.sin(2 * np.pi * 700 * t), rate, format="FLAC")
    return out.getvalue()


async def test_the_callee_hears_the_recording_n_times(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    awake = dataclasses.replace(
        settings, notify=NotifySettings(quiet_hours=""), data_dir=tmp_path / "data"
    )
    async with running(store, awake, now=NOW) as harness:
        template_id = await approved(harness)
        audio = harness.gateway.template_audio
        kept = await audio.record(template_id, 0, greeting(), by="test")
        await audio.set_play_times(template_id, 2, by="test")
        sent = await notify(harness, mobile="02151290000")
        assert sent.code == 2

        clock = FakeClock(harness.clock_value[0])
        voice, queue = ToneVoice(), MemoryQueue(clock=clock, sleep=clock.sleep)
        records = tmp_path / "calls"
        records.mkdir()
        library = PromptLibrary(runner=voice, cache_dir=tmp_path / "cache", data_dir=awake.data_dir)
        carrier = SimulatedCarrier(
            SimulationProfile(ring_after_s=0.01, answer_after_s=0.01),
            record_dir=records, clock=clock, sleep=clock.sleep,
        )  # fmt: skip
        worker = DialWorker(
            queue=queue, fence=SqlFence(harness.store, clock=clock), dialer=carrier,
            prompts=library, settings=WorkerSettings(name="w1"), clock=clock,
            sleep=clock.sleep,
        )  # fmt: skip
        await queue.enqueue(Job(sent.voiceid, NOW + 86_400))
        for delivery in await queue.receive("w1", count=10, block_s=0):
            await worker.process(delivery)
        call = await harness.store.get_call(sent.voiceid)
        assert call is not None
        assert call.state == "ANSWERED"
    assert " nin2 de5 kuai4 di4" not in voice.said  # part 0 is the recording
    assert " yi3 dao4 da2" in voice.said
    expected, segments = library.notice_segments(FILLED, None, 2, PARCEL, {0: kept.file_ref})
    assert segments[0].recorded
    with wave.open(str(records / f"{sent.voiceid}.wav")) as heard:
        seconds = heard.getnframes() / heard.getframerate()
    assert seconds == pytest.approx(expected.duration_s, abs=0.021)
    once, _ = library.notice_segments(FILLED, None, 1, PARCEL, {0: kept.file_ref})
    spoken = once.duration_s - (DEFAULT_TIMING.lead_in_ms + DEFAULT_TIMING.tail_ms) / 1000
    between = DEFAULT_TIMING.between_repeats_ms / 1000
    assert seconds == pytest.approx(once.duration_s + spoken + between, abs=0.041)
