"""What the callee hears: a code read digit by digit, said 1-3 times, as PCM and G.711.

Layout (``repeat=2``)::

    lead-in · intro · pause · d1 · gap · d2 · gap · d3 · gap · d4
    · between-repeats · repeat-phrase · pause · intro · pause · d1 … d4 · tail

The result is padded with silence to whole 20 ms frames, so every RTP packet of the SIP
dialer carries exactly 160 samples. Each prompt set keeps its clips pre-encoded in µ-law
and A-law, so a render only joins bytes (well under a millisecond) and is safe to call on an
event loop. Renders are also kept in an LRU keyed by (code, repeat, prompt set, timing)
because a code that was not answered is usually dialed again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

from voiceotp.delivery.audio.dsp import TELEPHONE_RATE
from voiceotp.delivery.audio.g711 import ALAW_SILENCE, ULAW_SILENCE
from voiceotp.delivery.audio.prompts import PromptSet, load_prompt_set
from voiceotp.delivery.audio.voices import DEFAULT_LANGUAGE
from voiceotp.delivery.audio.wavfile import WAV_FORMATS, encode_wav
from voiceotp.errors import InvalidCode

__all__ = [
    "DEFAULT_TIMING",
    "FRAME_BYTES",
    "MAX_REPEAT",
    "MIN_REPEAT",
    "Prompt",
    "Timing",
    "default_prompt_set",
    "layout",
    "render_prompt",
]

MIN_REPEAT, MAX_REPEAT = 1, 3
FRAME_MS = 20
FRAME_SAMPLES = TELEPHONE_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES = FRAME_SAMPLES  # of G.711: one byte per sample
_CODE = re.compile(r"[0-9]{1,16}")


@dataclass(frozen=True)
class Timing:
    """Silences of a prompt, in milliseconds."""

    lead_in_ms: int = 300  # media often starts before the callee's ear is at the phone
    after_intro_ms: int = 300
    digit_gap_ms: int = 300  # 250-400 keeps digits distinct without dragging
    between_repeats_ms: int = 800
    after_repeat_ms: int = 250
    tail_ms: int = 500

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0 <= value <= 5000:
                raise ValueError(f"{f.name} must be within 0-5000 ms, not {value}")


DEFAULT_TIMING = Timing()


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt: 8 kHz mono audio as s16le PCM and as G.711 payloads, all padded
    to whole 20 ms frames (``len(ulaw) % 160 == 0``)."""

    language: str
    repeat: int
    pcm16: bytes = field(repr=False)
    ulaw: bytes = field(repr=False)
    alaw: bytes = field(repr=False)

    @property
    def duration_s(self) -> float:
        """Length in seconds (whole frames)."""
        return len(self.ulaw) / TELEPHONE_RATE

    @property
    def rtp_audio(self) -> dict[str, bytes]:
        """Payloads by RTP encoding name: ``{"PCMU": ulaw, "PCMA": alaw}``."""
        return {"PCMU": self.ulaw, "PCMA": self.alaw}

    def payload(self, codec: str) -> bytes:
        """The audio as ``pcm16``, ``ulaw`` or ``alaw`` bytes."""
        if codec not in WAV_FORMATS:
            raise ValueError(f"codec must be one of {sorted(WAV_FORMATS)}, not {codec!r}")
        payload: bytes = getattr(self, codec)
        return payload

    def wav_bytes(self, codec: str = "pcm16") -> bytes:
        """A WAV file of the audio in ``codec`` (PCM 16-bit, µ-law or A-law, 8 kHz mono)."""
        return encode_wav(self.payload(codec), codec=codec, rate=TELEPHONE_RATE)

    def to_wav(self, path: Path | str, codec: str = "pcm16") -> Path:
        """Write :meth:`wav_bytes` to ``path`` and return it."""
        target = Path(path)
        target.write_bytes(self.wav_bytes(codec))
        return target


def layout(code: str, repeat: int, timing: Timing) -> list[str | int]:
    """A prompt in playing order: clip names (``str``) and silences in milliseconds (``int``)."""
    t = timing
    digits: list[str | int] = []
    for i, digit in enumerate(code):
        digits += [t.digit_gap_ms, digit] if i else [digit]
    items: list[str | int] = [t.lead_in_ms]
    for n in range(repeat):
        if n:
            items += [t.between_repeats_ms, "repeat", t.after_repeat_ms]
        items += ["intro", t.after_intro_ms, *digits]
    items.append(t.tail_ms)
    return items


def _join(items: list[str | int], clips: Mapping[str, bytes], zero: bytes) -> bytes:
    """Concatenate clips and silences in one codec, padded with silence to whole frames.
    G.711 works sample by sample, so joining encoded clips equals encoding the join."""
    audio = b"".join(
        clips[item] if isinstance(item, str) else zero * (TELEPHONE_RATE * item // 1000)
        for item in items
    )
    return audio + zero * (-(len(audio) // len(zero)) % FRAME_SAMPLES)


def _check(code: str, repeat: int) -> None:
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise InvalidCode("the spoken code must be 1-16 ASCII digits")
    if type(repeat) is not int or not MIN_REPEAT <= repeat <= MAX_REPEAT:  # bool too
        raise ValueError(f"repeat must be {MIN_REPEAT}-{MAX_REPEAT}, not {repeat!r}")


# Not cached: a rendered prompt is a code, spoken; it lives no longer than its call
# (docs/privacy.md). Joining clips costs ~0.3 ms for 6 digits x 3 (bench/audio.py).
def _render(code: str, repeat: int, prompts: PromptSet, timing: Timing) -> Prompt:
    items = layout(code, repeat, timing)
    return Prompt(
        language=prompts.language,
        repeat=repeat,
        pcm16=_join(items, prompts.clips, b"\x00\x00"),
        ulaw=_join(items, prompts.encoded("ulaw"), bytes([ULAW_SILENCE])),
        alaw=_join(items, prompts.encoded("alaw"), bytes([ALAW_SILENCE])),
    )


@lru_cache(maxsize=8)
def default_prompt_set(language: str = DEFAULT_LANGUAGE) -> PromptSet:
    """The espeak-ng prompt set of ``language`` from the default cache, loaded once per
    process (the first call may run espeak-ng: call it at start-up, not on a hot path)."""
    return load_prompt_set(language)


def render_prompt(
    code: str,
    language: str | None = None,
    repeat: int = 2,
    *,
    prompts: PromptSet | None = None,
    timing: Timing = DEFAULT_TIMING,
) -> Prompt:
    """Render ``code`` (ASCII digits) spoken ``repeat`` (1-3) times.

    ``prompts`` defaults to :func:`default_prompt_set` of ``language`` (``"zh"`` when
    neither is given); if both are given they must agree. Renders are not cached (each is
    a code, spoken); the clips are.
    """
    _check(code, repeat)
    if prompts is None:
        prompts = default_prompt_set(language or DEFAULT_LANGUAGE)
    elif language is not None and language != prompts.language:
        raise ValueError(f"language {language!r} but the prompt set is {prompts.language!r}")
    return _render(code, repeat, prompts, timing)
