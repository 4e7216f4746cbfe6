"""Test helpers: tones, a WAV writer, a counting espeak-ng runner, synthetic prompt sets."""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Sequence

from voiceotp.delivery.audio import CLIP_NAMES, PromptSet, run_espeak
from voiceotp.delivery.audio.dsp import quantise


def tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> list[float]:
    n = round(rate * seconds)
    return [amplitude * math.sin(2 * math.pi * freq * i / rate) for i in range(n)]


def pcm_wav(samples: Sequence[float], rate: int, channels: int = 1) -> bytes:
    """16-bit PCM WAV; with channels > 1 every channel carries the same signal."""
    frames = quantise(samples)
    per_channel = [frames[i : i + 2] for i in range(0, len(frames), 2)]
    data = b"".join(s * channels for s in per_channel)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def dominant_frequency(samples: Sequence[float], rate: int) -> float:
    """Zero-crossing estimate: enough for a clean tone."""
    crossings = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
    return crossings * rate / len(samples)


class CountingRunner:
    """Runs the real espeak-ng and counts invocations per input text."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, argv: Sequence[str]) -> bytes:
        self.calls.append(argv[-1])
        return run_espeak(argv)


def synthetic_prompts(language: str = "zh") -> PromptSet:
    """Twelve clips of distinct lengths and tones: cheap, and every clip is recognisable."""
    clips = {
        name: quantise(tone(300 + 100 * i, 8000, 0.05 + 0.01 * i))
        for i, name in enumerate(CLIP_NAMES)
    }
    return PromptSet(language=language, clips=clips, source="synthetic")
