"""WAV decoding of the formats operators export, and the 8 kHz conversion."""

from __future__ import annotations

import math
import struct

import pytest

from tests.delivery.audio.helpers import dominant_frequency, pcm_wav, tone
from voiceotp.delivery.audio import AudioError, decode_wav, encode_wav
from voiceotp.delivery.audio.dsp import prepare_clip, quantise, resample, silence


def _rms(samples: list[float]) -> float:
    return math.sqrt(sum(v * v for v in samples) / len(samples))


def _fmt_wav(tag: int, bits: int, data: bytes, *, rate: int = 8000, ext: bool = False) -> bytes:
    block = bits // 8
    fmt = struct.pack("<HHIIHH", 0xFFFE if ext else tag, 1, rate, rate * block, block, bits)
    if ext:  # cbSize, valid bits, channel mask, sub-format GUID (tag in its first 2 bytes)
        fmt += struct.pack("<HHI", 22, bits, 4) + struct.pack("<H", tag) + bytes(14)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd chunk: padding must be skipped
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
def test_resample_keeps_a_pass_band_tone(rate: int) -> None:
    out = resample(tone(1000, rate, 0.5), rate, 8000)
    assert len(out) == 4000
    body = out[200:-200]  # away from the filter's edge transients
    assert _rms(body) == pytest.approx(0.5 / math.sqrt(2), rel=0.01)
    assert dominant_frequency(body, 8000) == pytest.approx(1000, rel=0.01)


@pytest.mark.parametrize("freq", [5000, 7000, 9000])
def test_resample_removes_what_8khz_cannot_carry(freq: int) -> None:
    out = resample(tone(freq, 22050, 0.5), 22050, 8000)
    assert _rms(out[200:-200]) < 0.5 / math.sqrt(2) / 100  # at least 40 dB down


def test_resample_up() -> None:
    out = resample(tone(440, 6000, 0.5), 6000, 8000)
    assert len(out) == 4000
    assert dominant_frequency(out[200:-200], 8000) == pytest.approx(440, rel=0.02)


def test_decode_16bit_stereo_downmixes() -> None:
    wav = decode_wav(pcm_wav(tone(500, 16000, 0.1), 16000, channels=2))
    assert (wav.rate, wav.channels, len(wav.samples)) == (16000, 2, 1600)
    assert max(wav.samples) == pytest.approx(0.5, abs=0.001)


@pytest.mark.parametrize(
    ("tag", "bits", "encode"),
    [
        (1, 8, lambda v: bytes(128 + round(x * 127) for x in v)),
        (
            1,
            24,
            lambda v: b"".join(round(x * 8388607).to_bytes(3, "little", signed=True) for x in v),
        ),
        (1, 32, lambda v: struct.pack(f"<{len(v)}i", *(round(x * 2147483647) for x in v))),
        (3, 32, lambda v: struct.pack(f"<{len(v)}f", *v)),
        (3, 64, lambda v: struct.pack(f"<{len(v)}d", *v)),
    ],
)
@pytest.mark.parametrize("extensible", [False, True])
def test_decode_sample_formats(tag, bits, encode, extensible) -> None:  # type: ignore[no-untyped-def]
    signal = tone(700, 8000, 0.05)
    wav = decode_wav(_fmt_wav(tag, bits, encode(signal), ext=extensible))
    assert len(wav.samples) == len(signal)
    assert max(abs(a - b) for a, b in zip(wav.samples, signal, strict=True)) < 0.01


@pytest.mark.parametrize("codec", ["pcm16", "ulaw", "alaw"])
def test_encode_then_decode_wav(codec: str) -> None:
    signal = tone(700, 8000, 0.05)
    pcm = quantise(signal)
    from voiceotp.delivery.audio import pcm16_to_alaw, pcm16_to_ulaw

    payload = {"pcm16": pcm, "ulaw": pcm16_to_ulaw(pcm), "alaw": pcm16_to_alaw(pcm)}[codec]
    wav = decode_wav(encode_wav(payload, codec=codec))
    assert wav.rate == 8000
    assert max(abs(a - b) for a, b in zip(wav.samples, signal, strict=True)) < 0.02


@pytest.mark.parametrize(
    "data",
    [b"", b"RIFF\x00\x00\x00\x00WAVX", _fmt_wav(2, 4, b"\x00" * 8), _fmt_wav(1, 12, b"\x00" * 8)],
)
def test_unreadable_wav_raises_audio_error(data: bytes) -> None:
    with pytest.raises(AudioError):
        decode_wav(data)


def test_prepare_clip_trims_levels_and_converts() -> None:
    padded = [0.0] * 4410 + tone(800, 44100, 0.2, amplitude=0.1) + [0.0] * 8820
    clip = prepare_clip(padded, 44100)
    samples = struct.unpack(f"<{len(clip) // 2}h", clip)
    # 0.2 s of tone plus at most 10 ms of kept margin on each side (and filter ringing)
    assert 1600 <= len(samples) <= 1600 + 2 * 80 + 8
    assert max(abs(s) for s in samples) == round(0.7 * 32768)


def test_prepare_clip_of_silence_is_empty() -> None:
    assert prepare_clip([0.0] * 1000, 8000) == b""


def test_silence_length() -> None:
    assert silence(300) == bytes(4800)
