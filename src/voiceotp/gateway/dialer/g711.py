"""G.711 µ-law / A-law <-> 16-bit linear PCM, and WAV output of what a callee heard.

Small and table-driven (``audioop`` is deprecated and gone in Python 3.13). The dialers
only need to decode (to write WAV files); encoding is here so tests and benchmarks can
make payloads without the audio package.
"""

from __future__ import annotations

import wave
from array import array
from pathlib import Path

__all__ = ["decode", "encode", "write_wav"]

_BIAS = 0x84


def _ulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    magnitude = (((byte & 0x0F) << 3) + _BIAS) << ((byte & 0x70) >> 4)
    return _BIAS - magnitude if byte & 0x80 else magnitude - _BIAS


def _alaw_to_linear(byte: int) -> int:
    byte ^= 0x55
    mantissa = (byte & 0x0F) << 4
    segment = (byte & 0x70) >> 4
    value = mantissa + 8 if segment == 0 else (mantissa + 0x108) << (segment - 1)
    return value if byte & 0x80 else -value


def _linear_to_ulaw(sample: int) -> int:
    # The reference (ITU-T G.191 / Sun g711.c) algorithm on the 14-bit magnitude.
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + 0x21
    segment = max(value.bit_length() - 6, 0)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _linear_to_alaw(sample: int) -> int:
    value = sample >> 3
    mask = 0xD5
    if value < 0:
        value, mask = -value - 1, 0x55
    segment = max(value.bit_length() - 5, 0)
    if segment >= 8:
        return 0x7F ^ mask
    shift = 1 if segment < 2 else segment
    return ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask


_DECODE = {
    "PCMU": array("h", (_ulaw_to_linear(b) for b in range(256))),
    "PCMA": array("h", (_alaw_to_linear(b) for b in range(256))),
}
_ENCODERS = {"PCMU": _linear_to_ulaw, "PCMA": _linear_to_alaw}


def decode(codec: str, payload: bytes) -> array[int]:
    """Linear 16-bit samples of a G.711 ``payload`` (``codec`` is "PCMU" or "PCMA")."""
    table = _DECODE[codec]
    return array("h", (table[b] for b in payload))


def encode(codec: str, samples: array[int] | list[int]) -> bytes:
    """G.711 bytes of linear 16-bit ``samples``."""
    encoder = _ENCODERS[codec]
    return bytes(encoder(s) for s in samples)


def write_wav(path: Path, codec: str, payload: bytes) -> None:
    """Write ``payload`` as an 8 kHz mono 16-bit PCM WAV file any player opens."""
    samples = decode(codec, payload)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())
