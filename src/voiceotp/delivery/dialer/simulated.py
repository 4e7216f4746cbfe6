"""The simulated carrier: the embedded default dialer, for laptops, demos and tests.

It never touches the network. Outcomes come from deterministic rules first: a mobile
ending in ``0`` + a SIP code of the outcome table ends with that code (``…0486`` BUSY,
``…0603`` REJECTED, ``…0487`` rings out to NO_ANSWER, ``…0404`` FAILED); other numbers
draw from a configurable weighted mix. Time passes through an injected clock and sleep,
so tests run instantly. When ``record_dir`` is set, every answered call leaves
``<call_id>.wav`` with exactly what the callee would have heard (cut at the call cap).
With ``dial_log`` set, every dial appends ``<call_id>`` as one line to that file before
anything else happens (an audit of what the "network" was asked, e.g. to count dials).
``aclose()`` hangs up the calls in flight at once: they end CANCELED (487 / Q.850 31), as
the SIP dialer's CANCEL or BYE would end them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from voiceotp.delivery.dialer.base import (
    CODECS,
    OUTCOME_TABLE,
    CallOutcome,
    CallRequest,
    CallStatus,
    canonical_row,
    outcome_for_sip,
)
from voiceotp.delivery.dialer.g711 import write_wav
from voiceotp.protocol import mask_mobile

__all__ = ["SimulatedCarrier", "SimulationProfile", "default_suffix_rules"]

log = logging.getLogger(__name__)
_DIALABLE = (
    CallStatus.ANSWERED,
    CallStatus.BUSY,
    CallStatus.NO_ANSWER,
    CallStatus.REJECTED,
    CallStatus.FAILED,
)
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.-]")


def default_suffix_rules() -> dict[str, int]:
    """``"0" + SIP code`` -> that SIP final code, for every code of the outcome table."""
    return {
        f"0{row.sip_code}": row.sip_code
        for row in OUTCOME_TABLE
        if row.sip_code is not None and row.status in _DIALABLE
    }


@dataclass(frozen=True)
class SimulationProfile:
    """What the simulated network does: outcome mix and timings (seconds)."""

    mix: Mapping[CallStatus, float] = field(default_factory=lambda: {CallStatus.ANSWERED: 1.0})
    ring_after_s: float = 1.0  # INVITE -> 180 Ringing
    answer_after_s: float = 3.0  # 180 -> 200 OK (capped by the ring timeout)
    reject_after_s: float = 2.0  # 180 -> BUSY / REJECTED / FAILED final
    #: mobile suffix -> SIP final code the call ends with (status and Q.850 from the table)
    rules: Mapping[str, int] = field(default_factory=default_suffix_rules)

    def __post_init__(self) -> None:
        if not self.mix or any(w < 0 for w in self.mix.values()) or sum(self.mix.values()) <= 0:
            raise ValueError("mix needs at least one positive weight")
        if any(status not in _DIALABLE for status in self.mix):
            raise ValueError(f"a simulated call can only end as one of {_DIALABLE}")
        for code in self.rules.values():
            outcome_for_sip(code)  # raises ValueError for a code that is not final


class SimulatedCarrier:
    """A :class:`~voiceotp.delivery.dialer.base.Dialer` that pretends to be a phone network."""

    name = "simulated"

    def __init__(
        self,
        profile: SimulationProfile | None = None,
        *,
        record_dir: Path | None = None,
        dial_log: Path | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.profile = profile or SimulationProfile()
        self.record_dir = record_dir
        self.dial_log = dial_log
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._closed = asyncio.Event()

    def choose_outcome(self, mobile: str) -> tuple[CallStatus, int]:
        """Status and SIP final code a call to ``mobile`` ends with (rules, then the mix)."""
        for suffix, code in self.profile.rules.items():
            if mobile.endswith(suffix):
                return outcome_for_sip(code)[0], code
        statuses = list(self.profile.mix)
        weights = [self.profile.mix[s] for s in statuses]
        status = self._rng.choices(statuses, weights)[0]
        canonical = canonical_row(status).sip_code
        assert canonical is not None  # every dialable status has a canonical SIP code
        return status, canonical

    async def dial(self, call: CallRequest) -> CallOutcome:
        """Simulate ``call`` in (injected) real time."""
        now = self._clock()
        if self._closed.is_set():
            return CallOutcome(CallStatus.CANCELED, None, None, end_at=now, detail="closed")
        if call.deadline is not None and now >= call.deadline:
            return CallOutcome(CallStatus.EXPIRED, None, None, end_at=now, detail="deadline")
        if self.dial_log is not None:
            with self.dial_log.open("a", encoding="ascii") as log_file:  # one write: O_APPEND
                log_file.write(f"{call.call_id}\n")
        status, code = self.choose_outcome(call.mobile)
        log.debug("simulated call %s to %s -> %s", call.call_id, mask_mobile(call.mobile), status)
        invite_at = now
        ring_s = min(self.profile.ring_after_s, call.ring_timeout_s)
        if not await self._wait(ring_s):
            return self._hung_up(invite_at, None, None)
        ring_at = invite_at + ring_s
        if status is CallStatus.ANSWERED and self.profile.answer_after_s < call.ring_timeout_s:
            return await self._answer(call, invite_at, ring_at)
        if status is CallStatus.ANSWERED or code == 487:  # rings out; we CANCEL
            code, wait_s = 487, call.ring_timeout_s - ring_s
        else:
            wait_s = min(self.profile.reject_after_s, call.ring_timeout_s - ring_s)
        if not await self._wait(wait_s):
            return self._hung_up(invite_at, ring_at, None)
        status, q850 = outcome_for_sip(code)
        end_at = ring_at + wait_s
        return CallOutcome(status, code, q850, invite_at, ring_at, None, end_at, 0.0, "simulated")

    async def _answer(self, call: CallRequest, invite_at: float, ring_at: float) -> CallOutcome:
        codec = next((c for c in CODECS if c in call.audio), None)
        if codec is None:
            raise ValueError(f"call {call.call_id} has no audio in {sorted(CODECS)}")
        if not await self._wait(self.profile.answer_after_s):
            return self._hung_up(invite_at, ring_at, None)
        answer_at = ring_at + self.profile.answer_after_s
        payload = call.audio[codec][: int(call.max_duration_s * 8000)]
        duration_s = len(payload) / 8000
        if self.record_dir is not None:
            name = f"{_UNSAFE_FILENAME.sub('_', call.call_id)}.wav"
            await asyncio.to_thread(write_wav, self.record_dir / name, codec, payload)
        if not await self._wait(duration_s):
            return self._hung_up(invite_at, ring_at, answer_at)
        row = canonical_row(CallStatus.ANSWERED)
        return CallOutcome(
            CallStatus.ANSWERED,
            row.sip_code,
            row.q850,
            invite_at,
            ring_at,
            answer_at,
            answer_at + duration_s,
            duration_s,
            f"simulated, heard {duration_s:.2f} s of {codec}",
        )

    async def _wait(self, seconds: float) -> bool:
        """Let ``seconds`` of the call pass; False when :meth:`aclose` hung it up first."""
        if self._closed.is_set():
            return False
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        closer = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({sleeper, closer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            closer.cancel()
        return not self._closed.is_set()

    def _hung_up(
        self, invite_at: float, ring_at: float | None, answer_at: float | None
    ) -> CallOutcome:
        """A call in flight that :meth:`aclose` ended: CANCELED, like a SIP CANCEL or BYE."""
        end_at = self._clock()
        row = canonical_row(CallStatus.CANCELED)
        duration_s = max(0.0, end_at - answer_at) if answer_at is not None else 0.0
        return CallOutcome(
            CallStatus.CANCELED,
            row.sip_code,
            row.q850,
            invite_at,
            ring_at,
            answer_at,
            end_at,
            duration_s,
            "simulated, hung up: the dialer closed mid-call",
        )

    async def aclose(self) -> None:
        """Refuse further calls and hang up those in flight (they end CANCELED)."""
        self._closed.set()
