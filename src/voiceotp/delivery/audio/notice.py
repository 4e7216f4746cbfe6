"""A voice notification's audio: its text read by espeak-ng, said ``repeat`` times.

First cut (docs/notify.md, "Not done yet"): the text goes to espeak-ng's Mandarin voice
as it is, so numbers, amounts and dates are read the way espeak-ng reads them, and the
template's fixed parts are not rendered once and cached apart. Whole renders are kept in
an LRU (a notice that was not answered is usually dialed again). espeak-ng runs in a
subprocess: call :func:`render_notice` off the event loop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from voiceotp.delivery.audio.dsp import TELEPHONE_RATE
from voiceotp.delivery.audio.g711 import pcm16_to_alaw, pcm16_to_ulaw
from voiceotp.delivery.audio.prompt import FRAME_SAMPLES, MAX_REPEAT, MIN_REPEAT, Prompt, Timing
from voiceotp.delivery.audio.prompts import EspeakRunner, decode_8k
from voiceotp.errors import AudioError

__all__ = ["NOTICE_VOICES", "NoticeRenderer"]

# espeak-ng voice per prompt language, and its speed (words per minute).
NOTICE_VOICES = {"zh": ("cmn", 150), "en": ("en-us", 150)}
CACHE_SIZE = 256


class NoticeRenderer:
    """Renders notices through ``runner`` (espeak-ng), with an LRU of whole renders."""

    def __init__(self, runner: EspeakRunner, timing: Timing) -> None:
        self._runner = runner
        self._timing = timing
        self._cache: OrderedDict[tuple[str, str, int], Prompt] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, text: str, language: str, repeat: int) -> Prompt:
        if not text.strip():
            raise AudioError("a notice with no text")
        if type(repeat) is not int or not MIN_REPEAT <= repeat <= MAX_REPEAT:
            raise ValueError(f"repeat must be {MIN_REPEAT}-{MAX_REPEAT}, not {repeat!r}")
        key = (text, language, repeat)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        prompt = self._render(text, language, repeat)
        with self._lock:
            self._cache[key] = prompt
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return prompt

    def _render(self, text: str, language: str, repeat: int) -> Prompt:
        voice, speed = NOTICE_VOICES.get(language, NOTICE_VOICES["zh"])
        # A leading space keeps a text starting with "-" from being read as an option.
        spoken = decode_8k(self._runner(["-v", voice, "-s", str(speed), "--stdout", " " + text]))
        if not spoken:
            raise AudioError("espeak-ng produced no audio for the notice")
        t = self._timing
        silence = b"\x00\x00"
        parts = [silence * (TELEPHONE_RATE * t.lead_in_ms // 1000)]
        for n in range(repeat):
            if n:
                parts.append(silence * (TELEPHONE_RATE * t.between_repeats_ms // 1000))
            parts.append(spoken)
        parts.append(silence * (TELEPHONE_RATE * t.tail_ms // 1000))
        pcm = b"".join(parts)
        pcm += silence * (-(len(pcm) // 2) % FRAME_SAMPLES)
        ulaw, alaw = pcm16_to_ulaw(pcm), pcm16_to_alaw(pcm)
        return Prompt(language=language, repeat=repeat, pcm16=pcm, ulaw=ulaw, alaw=alaw)
