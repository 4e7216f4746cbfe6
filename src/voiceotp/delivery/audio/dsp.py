"""Turn decoded audio into telephone audio: resample to 8 kHz, trim, level, quantise.

Resampling is done here in pure Python (a windowed-sinc polyphase filter) rather than by
piping through sox: recorded prompt folders then need no Debian package at all, the result
is identical on every machine (no sox version drift in the cache), and it is tested like the
rest of the code. It is slow by DSP standards (~50 ms per second of audio) but runs once per
clip: clips are cached on disk after conversion.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Callable, Sequence
from functools import cache
from operator import mul

__all__ = ["TELEPHONE_RATE", "prepare_clip", "quantise", "resample", "silence"]

TELEPHONE_RATE = 8000
_ZERO_CROSSINGS = 16  # filter half-length in zero crossings: ~97 taps for 22.05 -> 8 kHz
_ROLLOFF = 0.92  # pass band edge as a fraction of the lower Nyquist frequency
_TRIM_LEVEL = 0.01  # -40 dBFS: quieter ends of a clip are silence
_TRIM_MARGIN_S = 0.01  # keep the onset/decay of the first and last phoneme
_PEAK = 0.7  # -3 dBFS: every clip peaks at the same level


def _dot() -> Callable[[Sequence[float], Sequence[float]], float]:
    sumprod = getattr(math, "sumprod", None)  # Python 3.12+
    if sumprod is not None:
        return sumprod  # type: ignore[no-any-return]
    return lambda a, b: sum(map(mul, a, b))


_dot_product = _dot()


@cache
def _kernels(up: int, down: int) -> tuple[int, tuple[tuple[float, ...], ...]]:
    """Half length and one Blackman-windowed sinc kernel per phase, each with DC gain 1."""
    cutoff = min(1.0, up / down) * _ROLLOFF  # in units of the input Nyquist frequency
    half = math.ceil(_ZERO_CROSSINGS / cutoff)
    kernels = []
    for phase in range(up):
        offset = phase / up
        taps = []
        for j in range(2 * half):
            tau = offset + half - 1 - j  # distance from the output instant, in input samples
            window = (
                0.42
                + 0.5 * math.cos(math.pi * tau / half)
                + 0.08 * math.cos(2 * math.pi * tau / half)
            )
            arg = math.pi * cutoff * tau
            taps.append(cutoff * (math.sin(arg) / arg if arg else 1.0) * max(window, 0.0))
        total = sum(taps)
        kernels.append(tuple(t / total for t in taps))
    return half, tuple(kernels)


def resample(samples: Sequence[float], src_rate: int, dst_rate: int) -> list[float]:
    """Band-limited rational resampling (anti-aliased when going down)."""
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")
    if src_rate == dst_rate:
        return list(samples)
    g = math.gcd(src_rate, dst_rate)
    up, down = dst_rate // g, src_rate // g
    half, kernels = _kernels(up, down)
    padded = [0.0] * half + list(samples) + [0.0] * (half + 1)
    width = 2 * half
    out = []
    for n in range(-(-len(samples) * up // down)):
        base, phase = divmod(n * down, up)
        out.append(_dot_product(kernels[phase], padded[base + 1 : base + 1 + width]))
    return out


def _trim(samples: list[float], rate: int) -> list[float]:
    loud = [i for i, v in enumerate(samples) if abs(v) >= _TRIM_LEVEL]
    if not loud:
        return []
    margin = round(_TRIM_MARGIN_S * rate)
    return samples[max(0, loud[0] - margin) : loud[-1] + margin + 1]


def quantise(samples: Sequence[float]) -> bytes:
    """Floats in [-1, 1] to signed 16-bit little-endian PCM (rounded, clipped)."""
    values = array("h", (max(-32768, min(32767, round(v * 32768.0))) for v in samples))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tobytes()


def silence(ms: int, rate: int = TELEPHONE_RATE) -> bytes:
    """``ms`` milliseconds of 16-bit PCM silence."""
    return bytes(2 * (rate * ms // 1000))


def prepare_clip(samples: Sequence[float], rate: int) -> bytes:
    """A prompt clip as 8 kHz mono s16le: resampled, silent ends trimmed, peak -3 dBFS."""
    telephone = _trim(resample(samples, rate, TELEPHONE_RATE), TELEPHONE_RATE)
    peak = max((abs(v) for v in telephone), default=0.0)
    if peak == 0.0:
        return b""
    gain = _PEAK / peak
    return quantise([v * gain for v in telephone])
