"""An in-memory sender: scripted answers, a count of every submit per number.

A real implementation of the :class:`~voiceotp.client.batch.engine.Sender` protocol for
tests, benchmarks and dry experiments; no network. Like our gateway it can dedupe an exact
replay (same number, code and ``time``) by answering the original voiceid.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from voiceotp.errors import UnknownOutcome, VoiceOTPError, error_for_code
from voiceotp.protocol import SubmitResult, message_for

Scripted = int | VoiceOTPError


@dataclass(frozen=True, slots=True)
class MemoryReport:
    mobile: str
    result: SubmitResult | None
    error: VoiceOTPError | None
    attempts: int = 1
    time: str | None = None


class MemorySender:
    """Answers code 2 unless scripted otherwise, per number, in order.

    ``script[mobile]`` lists what successive submits to that number get: a code, or an
    exception meaning the request failed that way (e.g. ``UnknownOutcome``). An
    ``UnknownOutcome`` still counts as accepted: the service placed the call, the answer
    was lost.
    """

    def __init__(
        self,
        script: dict[str, Iterable[Scripted]] | None = None,
        *,
        default: Scripted = 2,
        latency_s: float = 0.0,
        dedupes: bool = False,
    ) -> None:
        self._script = {mobile: list(steps) for mobile, steps in (script or {}).items()}
        self._default = default
        self._latency_s = latency_s
        self._dedupes = dedupes
        self._ids = itertools.count(60_000_000)
        self._seen: dict[tuple[str, str, int | None], str] = {}
        self.submits: Counter[str] = Counter()  # every submit received
        self.accepted: Counter[str] = Counter()  # calls placed (replays answered, not placed)
        self.template_ids: list[int | str | None] = []  # of each submit_notice

    async def submit(self, mobile: str, code: str, *, time: int | None = None) -> MemoryReport:
        if self._latency_s:
            await asyncio.sleep(self._latency_s)
        self.submits[mobile] += 1
        key = (mobile, code, time)
        if self._dedupes and key in self._seen:
            return self._report(mobile, SubmitResult(2, message_for(2), self._seen[key]), time)
        step = self._next_step(mobile)
        if isinstance(step, VoiceOTPError):
            if isinstance(step, UnknownOutcome):
                self._accept(key)
            return MemoryReport(mobile, None, step, 1, _text(time))
        voiceid = self._accept(key) if step == 2 else "0"
        return self._report(mobile, SubmitResult(step, message_for(step), voiceid), time)

    async def submit_notice(
        self,
        mobile: str,
        content: str,
        *,
        template_id: int | str | None = None,
        time: int | None = None,
    ) -> MemoryReport:
        """A notice, answered as :meth:`submit` answers a code (``template_id`` is kept
        in ``template_ids``)."""
        self.template_ids.append(template_id)
        return await self.submit(mobile, content, time=time)

    def _next_step(self, mobile: str) -> Scripted:
        steps = self._script.get(mobile)
        return steps.pop(0) if steps else self._default

    def _accept(self, key: tuple[str, str, int | None]) -> str:
        voiceid = str(next(self._ids))
        self.accepted[key[0]] += 1
        self._seen[key] = voiceid
        return voiceid

    @staticmethod
    def _report(mobile: str, result: SubmitResult, time: int | None) -> MemoryReport:
        error: VoiceOTPError | None = None if result.ok else error_for_code(result.code, result.msg)
        return MemoryReport(mobile, result, error, 1, _text(time))


def _text(time: int | None) -> str | None:
    return str(time) if time is not None else None
