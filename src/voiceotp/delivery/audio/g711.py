"""ITU-T G.711 µ-law (PCMU) and A-law (PCMA) for 16-bit linear PCM, without audioop.

The quantiser follows the Sun Microsystems reference ``g711.c`` — the code behind CPython's
``audioop``, PJSIP and many softphones — so our bytes match what the rest of the
telephone world produces: µ-law compands the 14 most significant bits (bias 33, clip 8159),
A-law the 13 most significant bits, with the even bits of A-law inverted.

Speed comes from tables, not from numpy: every 16-bit sample maps to one code through a
65 536-entry ``bytes`` table (``map(table.__getitem__, ...)`` runs in C), and decoding is two
``bytes.translate`` calls interleaved by slice assignment. Prompts are rendered once per code
and cached, so this is far from the hot path (figures in ``bench/audio.py``).
"""

from __future__ import annotations

import sys
from array import array
from functools import cache

__all__ = [
    "ALAW_SILENCE",
    "ULAW_SILENCE",
    "alaw_decode_sample",
    "alaw_encode_sample",
    "alaw_to_pcm16",
    "pcm16_to_alaw",
    "pcm16_to_ulaw",
    "ulaw_decode_sample",
    "ulaw_encode_sample",
    "ulaw_to_pcm16",
]

ULAW_SILENCE = 0xFF  # code of +0
ALAW_SILENCE = 0xD5  # code of +0 (0x80 with even bits inverted)

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159
# Upper end of each segment: µ-law in biased 14-bit units, A-law in 13-bit units.
_ULAW_SEG_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_ALAW_SEG_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for seg, end in enumerate(ends):
        if value <= end:
            return seg
    return len(ends)


def ulaw_encode_sample(sample: int) -> int:
    """µ-law code of one signed 16-bit sample."""
    pcm = sample >> 2  # G.711 µ-law works on 14 bits
    mask = 0xFF
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    pcm = min(pcm, _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = _segment(pcm, _ULAW_SEG_END)
    if seg >= 8:  # clipped: the largest magnitude
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0x0F)) ^ mask


def alaw_encode_sample(sample: int) -> int:
    """A-law code of one signed 16-bit sample."""
    pcm = sample >> 3  # G.711 A-law works on 13 bits
    mask = 0xD5
    if pcm < 0:
        pcm, mask = -pcm - 1, 0x55
    seg = _segment(pcm, _ALAW_SEG_END)
    if seg >= 8:
        return 0x7F ^ mask
    shift = 1 if seg < 2 else seg
    return ((seg << 4) | ((pcm >> shift) & 0x0F)) ^ mask


def ulaw_decode_sample(code: int) -> int:
    """Signed 16-bit value of one µ-law code (the G.711 reconstruction level, scaled by 4)."""
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return _ULAW_BIAS - t if u & 0x80 else t - _ULAW_BIAS


def alaw_decode_sample(code: int) -> int:
    """Signed 16-bit value of one A-law code (the G.711 reconstruction level, scaled by 8)."""
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


@cache
def _encode_table(law: str) -> bytes:
    """Code for every 16-bit sample, indexed by the sample's unsigned bit pattern."""
    encode, dropped = (ulaw_encode_sample, 2) if law == "ulaw" else (alaw_encode_sample, 3)
    # The code depends only on the top 14 (µ) or 13 (A) bits: encode each once, repeat.
    step = 1 << dropped
    by_signed = bytes(code for v in range(-0x8000, 0x8000, step) for code in [encode(v)] * step)
    return by_signed[0x8000:] + by_signed[:0x8000]  # index by the unsigned bit pattern


@cache
def _decode_tables(law: str) -> tuple[bytes, bytes]:
    """(low byte, high byte) of the little-endian sample for every code."""
    decode = ulaw_decode_sample if law == "ulaw" else alaw_decode_sample
    values = [decode(code) & 0xFFFF for code in range(256)]
    return bytes(v & 0xFF for v in values), bytes(v >> 8 for v in values)


def _samples_u16(pcm16: bytes) -> array[int]:
    if len(pcm16) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    samples = array("H", pcm16)
    if sys.byteorder == "big":
        samples.byteswap()  # the wire format is little-endian
    return samples


def _encode(pcm16: bytes, law: str) -> bytes:
    return bytes(map(_encode_table(law).__getitem__, _samples_u16(pcm16)))


def _decode(codes: bytes, law: str) -> bytes:
    low, high = _decode_tables(law)
    out = bytearray(2 * len(codes))
    out[0::2] = codes.translate(low)
    out[1::2] = codes.translate(high)
    return bytes(out)


def pcm16_to_ulaw(pcm16: bytes) -> bytes:
    """Encode signed 16-bit little-endian PCM to µ-law, one byte per sample."""
    return _encode(pcm16, "ulaw")


def pcm16_to_alaw(pcm16: bytes) -> bytes:
    """Encode signed 16-bit little-endian PCM to A-law, one byte per sample."""
    return _encode(pcm16, "alaw")


def ulaw_to_pcm16(codes: bytes) -> bytes:
    """Decode µ-law to signed 16-bit little-endian PCM."""
    return _decode(bytes(codes), "ulaw")


def alaw_to_pcm16(codes: bytes) -> bytes:
    """Decode A-law to signed 16-bit little-endian PCM."""
    return _decode(bytes(codes), "alaw")
