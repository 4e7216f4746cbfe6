"""G.711 against the standard's values, CPython's audioop (3.11/3.12 only) and error bounds."""

from __future__ import annotations

import struct
import warnings

import pytest

from voiceotp.delivery.audio.g711 import (
    alaw_decode_sample,
    alaw_encode_sample,
    alaw_to_pcm16,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    ulaw_decode_sample,
    ulaw_encode_sample,
    ulaw_to_pcm16,
)

ALL_SAMPLES = struct.pack("<65536h", *range(-32768, 32768))
ALL_CODES = bytes(range(256))


def _audioop():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pytest.importorskip("audioop")  # removed in 3.13: the oracle is optional


def test_every_sample_encodes_like_audioop() -> None:
    audioop = _audioop()
    assert pcm16_to_ulaw(ALL_SAMPLES) == audioop.lin2ulaw(ALL_SAMPLES, 2)
    assert pcm16_to_alaw(ALL_SAMPLES) == audioop.lin2alaw(ALL_SAMPLES, 2)


def test_every_code_decodes_like_audioop() -> None:
    audioop = _audioop()
    assert ulaw_to_pcm16(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert alaw_to_pcm16(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


@pytest.mark.parametrize(
    ("code", "value"),
    [
        (0xFF, 0),  # +0
        (0x7F, 0),  # -0
        (0x80, 32124),  # largest level: 8031 in 14-bit units, times 4
        (0x00, -32124),
        (0xFE, 8),  # segment 0 steps by 2 in 14-bit units: levels 0, 2, 4 ... (times 4)
        (0xF0, 120),  # top of segment 0: 30 * 4
        (0xEF, 132),  # bottom of segment 1: 33 * 4
    ],
)
def test_ulaw_reconstruction_levels(code: int, value: int) -> None:
    assert ulaw_decode_sample(code) == value


@pytest.mark.parametrize(
    ("code", "value"),
    [
        (0xD5, 8),  # +1/2 step of segment 0 (13-bit level 1, times 8)
        (0x55, -8),
        (0xAA, 32256),  # largest level: 4032 in 13-bit units, times 8
        (0x2A, -32256),
    ],
)
def test_alaw_reconstruction_levels(code: int, value: int) -> None:
    assert alaw_decode_sample(code) == value


# µ-law segment ends in 14-bit units (G.711 table 2a): 31, 95, 223, 479, 991, 2015, 4063.
@pytest.mark.parametrize(
    ("last_of_segment", "segment"), [(30, 0), (94, 1), (222, 2), (478, 3), (990, 4), (2014, 5)]
)
def test_ulaw_segment_boundaries(last_of_segment: int, segment: int) -> None:
    below = ulaw_encode_sample(last_of_segment * 4)
    above = ulaw_encode_sample((last_of_segment + 1) * 4)
    # Positive codes are 0x80 | ~(seg << 4 | mantissa): segment in bits 4-6, inverted.
    assert (~below >> 4) & 0x7 == segment
    assert (~below) & 0x0F == 0x0F  # top of its segment
    assert (~above >> 4) & 0x7 == segment + 1
    assert (~above) & 0x0F == 0x00  # bottom of the next


# A-law segment ends in 13-bit units (G.711 table 1a): 32, 64, 128, 256, 512, 1024, 2048.
@pytest.mark.parametrize("segment_end", [32, 64, 128, 256, 512, 1024, 2048])
def test_alaw_segment_boundaries(segment_end: int) -> None:
    below = alaw_encode_sample((segment_end - 1) * 8) ^ 0xD5
    above = alaw_encode_sample(segment_end * 8) ^ 0xD5
    assert below & 0x0F == 0x0F
    assert above & 0x0F == 0x00
    assert (above >> 4) == (below >> 4) + 1


def test_silence_codes() -> None:
    assert pcm16_to_ulaw(bytes(4)) == b"\xff\xff"
    assert pcm16_to_alaw(bytes(4)) == b"\xd5\xd5"


def test_clipping_at_full_scale() -> None:
    assert ulaw_encode_sample(32767) == 0x80
    assert ulaw_encode_sample(-32768) == 0x00
    assert alaw_encode_sample(32767) == 0xAA
    assert alaw_encode_sample(-32768) == 0x2A


def test_codes_survive_decode_then_encode() -> None:
    # µ-law has two zeros; -0 (0x7F) comes back as +0 (0xFF).
    assert [c for c in range(256) if ulaw_encode_sample(ulaw_decode_sample(c)) != c] == [0x7F]
    assert [c for c in range(256) if alaw_encode_sample(alaw_decode_sample(c)) != c] == []


# Below 1024 (16-bit) µ-law reaches segment 3 (step 16 in 14-bit units = 64) and A-law
# segment 2 (step 4 in 13-bit units = 32): the error is at most half a step plus the low bits
# the codec drops (2 for µ-law, 3 for A-law). Above it the step is at most 1/32 of the value
# (µ-law's bias makes it slightly worse: 1/28).
@pytest.mark.parametrize(
    ("encode", "decode", "relative", "small_abs", "limit"),
    [
        (pcm16_to_ulaw, ulaw_to_pcm16, 1 / 28, 32 + 3, 32124),
        (pcm16_to_alaw, alaw_to_pcm16, 1 / 32, 16 + 7, 32256),
    ],
)
def test_round_trip_error_bounds(encode, decode, relative, small_abs, limit) -> None:  # type: ignore[no-untyped-def]
    back = struct.unpack("<65536h", decode(encode(ALL_SAMPLES)))
    for x, y in zip(range(-32768, 32768), back, strict=True):
        if abs(x) > limit:  # beyond the largest level: clipped to it
            assert abs(y) == limit
        elif abs(x) >= 1024:
            assert abs(y - x) <= abs(x) * relative, x
        else:
            assert abs(y - x) <= small_abs, x


def test_odd_pcm_length_is_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        pcm16_to_ulaw(b"\x00")
