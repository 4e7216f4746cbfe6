"""G.711 by RTP codec name ("PCMU" / "PCMA") for the dialers.

A thin adapter: the one G.711 implementation lives in ``voiceotp.delivery.audio.g711``.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path

from voiceotp.delivery.audio.g711 import (
    alaw_to_pcm16,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)
from voiceotp.delivery.audio.wavfile import encode_wav

_TO_PCM: dict[str, Callable[[bytes], bytes]] = {"PCMU": ulaw_to_pcm16, "PCMA": alaw_to_pcm16}
_FROM_PCM: dict[str, Callable[[bytes], bytes]] = {"PCMU": pcm16_to_ulaw, "PCMA": pcm16_to_alaw}


def decode(codec: str, payload: bytes) -> array[int]:
    """Linear 16-bit samples of a G.711 ``payload``."""
    samples = array("h", _TO_PCM[codec](payload))
    if sys.byteorder == "big":
        samples.byteswap()  # pcm16 is little-endian on the wire
    return samples


def encode(codec: str, samples: Iterable[int]) -> bytes:
    """G.711 bytes of linear 16-bit ``samples``."""
    pcm = array("h", samples)
    if sys.byteorder == "big":
        pcm.byteswap()
    return _FROM_PCM[codec](pcm.tobytes())


def write_wav(path: Path, codec: str, payload: bytes) -> None:
    """Write ``payload`` as an 8 kHz mono 16-bit PCM WAV file any player opens."""
    path.write_bytes(encode_wav(_TO_PCM[codec](payload), codec="pcm16"))
