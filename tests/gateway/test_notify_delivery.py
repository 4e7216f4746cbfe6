"""A notice accepted over HTTP is dialed with its text spoken (the worker, the store's
fence, the simulated carrier), on both stores."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from tests.clock import FakeClock
from tests.delivery.audio.helpers import pcm_wav, tone
from tests.gateway.harness import Harness, running
from tests.gateway.notifykit import FILLED, NOW, approved, notify
from voiceotp.delivery.audio import PromptLibrary
from voiceotp.delivery.dialer.simulated import SimulatedCarrier, SimulationProfile
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.queue import Job, MemoryQueue
from voiceotp.delivery.queue.worker import DialWorker, WorkerSettings
from voiceotp.gateway.settings import Settings
from voiceotp.gateway.submit.notifyconf import NotifySettings
from voiceotp.store import Store


class ToneVoice:
    """An espeak-ng stand-in: a 0.5 s tone for any text; keeps what it was asked to say."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def __call__(self, argv: Sequence[str]) -> bytes:
        self.said.append(argv[-1])
        return pcm_wav(tone(440, 8000, 0.5), 8000)


@dataclasses.dataclass
class Rig:
    clock: FakeClock
    queue: MemoryQueue
    worker: DialWorker
    voice: ToneVoice

    async def dial(self, voiceid: str, deadline: float, not_before: float = 0.0) -> int:
        """Enqueue the call's job and handle whatever is due now; how many were."""
        await self.queue.enqueue(Job(voiceid, deadline, not_before=not_before))
        return await self.run_due()

    async def run_due(self) -> int:
        due = await self.queue.receive("w1", count=10, block_s=0)
        for delivery in due:
            await self.worker.process(delivery)
        return len(due)


def rig(harness: Harness, records: Path) -> Rig:
    clock = FakeClock(harness.clock_value[0])
    voice = ToneVoice()
    queue = MemoryQueue(clock=clock, sleep=clock.sleep)
    carrier = SimulatedCarrier(
        SimulationProfile(ring_after_s=0.01, answer_after_s=0.01),
        record_dir=records,
        clock=clock,
        sleep=clock.sleep,
    )
    worker = DialWorker(
        queue=queue,
        fence=SqlFence(harness.store, clock=clock),
        dialer=carrier,
        prompts=PromptLibrary(runner=voice, cache_dir=records / "cache"),
        settings=WorkerSettings(name="w1"),
        clock=clock,
        sleep=clock.sleep,
    )
    return Rig(clock, queue, worker, voice)


async def test_an_approved_notice_is_dialed_speaking_its_text(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    awake = dataclasses.replace(settings, notify=NotifySettings(quiet_hours=""))
    async with running(store, awake, now=NOW) as harness:
        await approved(harness)
        sent = await notify(harness, mobile="02151290000")
        assert sent.code == 2
        r = rig(harness, tmp_path)
        assert await r.dial(sent.voiceid, NOW + 86_400) == 1
        call = await harness.store.get_call(sent.voiceid)
        assert call is not None
        assert call.state == "ANSWERED"
        # Said part by part along its template (parts rendered side by side: any order),
        # in pinyin; {code} digit by digit.
        assert sorted(r.voice.said) == sorted(
            [
                " nin2 de5 kuai4 di4",
                " ai2 si1 ai2 fu1 yi1 er4 san1",
                " yi3 dao4 da2",
                " ren2 min2 lu4 zhan4",
                " qing3 ping2 qu3 jian4 ma3",
                " ba1 ba1 yi1 er4",
                " qu3 jian4.",
            ]
        )
        assert FILLED
        assert [p.name for p in tmp_path.glob(f"{sent.voiceid}*.wav")]
