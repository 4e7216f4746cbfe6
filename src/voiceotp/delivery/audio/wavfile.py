"""Read any mono/stereo WAV into float samples; write 8 kHz PCM, µ-law and A-law WAVs.

The standard ``wave`` module reads only integer PCM (and not WAVE_FORMAT_EXTENSIBLE before
3.12), while recorded prompts arrive as whatever an editor exported — 24-bit, float,
extensible, G.711. A RIFF walk of ~100 lines covers them all without a dependency.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass

from voiceotp.delivery.audio.errors import AudioError
from voiceotp.delivery.audio.g711 import alaw_to_pcm16, ulaw_to_pcm16

__all__ = ["WAV_FORMATS", "DecodedWav", "decode_wav", "encode_wav"]

_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
# codec name -> (format tag, bits per sample)
WAV_FORMATS: dict[str, tuple[int, int]] = {
    "pcm16": (_PCM, 16),
    "ulaw": (_ULAW, 8),
    "alaw": (_ALAW, 8),
}


@dataclass(frozen=True)
class DecodedWav:
    """A WAV file's audio: mono float samples in [-1, 1] at ``rate`` Hz."""

    rate: int
    channels: int
    samples: list[float]


def _chunks(data: bytes) -> dict[bytes, bytes]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError("not a RIFF/WAVE file")
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        chunks.setdefault(cid, data[pos + 8 : pos + 8 + size])
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    if b"fmt " not in chunks or b"data" not in chunks:
        raise AudioError("WAV file lacks a fmt or data chunk")
    return chunks


def _native(values: array[int] | array[float]) -> array[int] | array[float]:
    if sys.byteorder == "big":
        values.byteswap()  # WAV is little-endian
    return values


def _to_floats(raw: bytes, tag: int, bits: int) -> list[float]:
    if tag in (_ULAW, _ALAW) and bits == 8:
        raw = ulaw_to_pcm16(raw) if tag == _ULAW else alaw_to_pcm16(raw)
        tag, bits = _PCM, 16
    if tag == _FLOAT and bits in (32, 64):
        return list(_native(array("f" if bits == 32 else "d", raw)))
    if tag != _PCM:
        raise AudioError(f"unsupported WAV format tag {tag:#x} with {bits} bits")
    if bits == 8:
        return [(b - 128) / 128.0 for b in raw]
    if bits == 16:
        return [v / 32768.0 for v in _native(array("h", raw))]
    if bits == 24:
        return [
            int.from_bytes(raw[i : i + 3], "little", signed=True) / 8388608.0
            for i in range(0, len(raw) - 2, 3)
        ]
    if bits == 32:
        return [v / 2147483648.0 for v in _native(array("i", raw))]
    raise AudioError(f"unsupported PCM sample width: {bits} bits")


def _downmix(interleaved: list[float], channels: int) -> list[float]:
    if channels == 1:
        return interleaved
    frames = len(interleaved) // channels
    lanes = [interleaved[c : frames * channels : channels] for c in range(channels)]
    return [sum(frame) / channels for frame in zip(*lanes, strict=True)]


def decode_wav(data: bytes) -> DecodedWav:
    """Decode PCM 8/16/24/32-bit, float 32/64, µ-law, A-law or extensible WAV to mono floats."""
    chunks = _chunks(data)
    fmt = chunks[b"fmt "]
    if len(fmt) < 16:
        raise AudioError("WAV fmt chunk too short")
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]  # first field of the sub-format GUID
    if channels < 1 or rate < 1 or block_align < 1:
        raise AudioError("WAV fmt chunk has zero channels, rate or block size")
    raw = chunks[b"data"]
    raw = raw[: len(raw) - len(raw) % block_align]
    samples = _downmix(_to_floats(raw, tag, bits), channels)
    return DecodedWav(rate=rate, channels=channels, samples=samples)


def encode_wav(payload: bytes, *, codec: str = "pcm16", rate: int = 8000) -> bytes:
    """A mono WAV file holding ``payload`` (s16le for pcm16, G.711 codes for ulaw/alaw)."""
    if codec not in WAV_FORMATS:
        raise ValueError(f"codec must be one of {sorted(WAV_FORMATS)}, not {codec!r}")
    tag, bits = WAV_FORMATS[codec]
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * block, block, bits)
    chunks = [b"fmt ", struct.pack("<I", len(fmt)), fmt]
    if tag != _PCM:  # non-PCM formats carry cbSize and a fact chunk with the sample count
        fmt += b"\x00\x00"
        chunks = [b"fmt ", struct.pack("<I", len(fmt)), fmt]
        chunks += [b"fact", struct.pack("<II", 4, len(payload) // block)]
    pad = b"\x00" if len(payload) & 1 else b""
    chunks += [b"data", struct.pack("<I", len(payload)), payload, pad]
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
