"""An operator's recording of a template's fixed part (docs/notices.md): decoded by
libsndfile (soundfile) whatever its name says, WAV, FLAC, Ogg or MP3 decided by its
content, bounded in size and length, mixed to mono, resampled to 8 kHz with soxr, its
silent ends trimmed and its peak set as the synthesised parts' are. The result is the
raw 16-bit PCM kept at rest and joined into the notice at render time."""

from __future__ import annotations

import io

import numpy as np
import soundfile
import soxr

from voiceotp.delivery.audio.dsp import TELEPHONE_RATE
from voiceotp.errors import AudioError

__all__ = [
    "MAX_RECORDING_BYTES",
    "MAX_RECORDING_S",
    "MESSAGES",
    "RECORDING_FORMATS",
    "Recording",
    "decode_recording",
    "shape_clip",
]

MAX_RECORDING_BYTES = 8 * 1024 * 1024
MAX_RECORDING_S = 30.0
MIN_RECORDING_S = 0.1
# libsndfile's names for the containers accepted (RAW, MAT, … are not recordings).
RECORDING_FORMATS = {"WAV": "WAV", "WAVEX": "WAV", "RF64": "WAV", "FLAC": "FLAC",
                     "OGG": "Ogg", "MP3": "MP3"}  # fmt: skip
_SILENCE_DB = -40.0
_PEAK_DB = -3.0

NOT_AUDIO = "The file must be a WAV, FLAC, Ogg or MP3 recording (decided by its content)."
TOO_LARGE = "The recording is larger than 8 MB."
TOO_LONG = "The recording is longer than 30 seconds."
SILENT = "The recording is silent."
TOO_SHORT = "The recording is too short (under 0.1 s of sound)."
#: What an operator may be told (the console translates them).
MESSAGES = (NOT_AUDIO, TOO_LARGE, TOO_LONG, SILENT, TOO_SHORT)


class Recording:
    """A decoded recording: 8 kHz mono 16-bit PCM and the container it came in."""

    __slots__ = ("kind", "pcm")

    def __init__(self, pcm: np.ndarray, kind: str) -> None:
        self.pcm, self.kind = pcm, kind

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // TELEPHONE_RATE


def decode_recording(data: bytes) -> Recording:
    """The recording in ``data``; AudioError with a message for the operator otherwise."""
    if len(data) > MAX_RECORDING_BYTES:
        raise AudioError(TOO_LARGE)
    try:
        info = soundfile.info(io.BytesIO(data))
    except (RuntimeError, soundfile.LibsndfileError, TypeError) as exc:
        raise AudioError(NOT_AUDIO) from exc
    kind = RECORDING_FORMATS.get(str(info.format))
    if kind is None or info.samplerate < 4000 or info.channels < 1 or info.channels > 8:
        raise AudioError(NOT_AUDIO)
    # The header's length first: a long recording is refused before it is decoded.
    if info.frames > MAX_RECORDING_S * info.samplerate:
        raise AudioError(TOO_LONG)
    try:
        samples, rate = soundfile.read(
            io.BytesIO(data), dtype="float32", always_2d=True,
            frames=int(MAX_RECORDING_S * info.samplerate) + 1,
        )  # fmt: skip
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioError(NOT_AUDIO) from exc
    if len(samples) > MAX_RECORDING_S * rate:  # a header that understated the length
        raise AudioError(TOO_LONG)
    mono = samples.mean(axis=1)
    if rate != TELEPHONE_RATE:
        mono = soxr.resample(mono, rate, TELEPHONE_RATE, quality="HQ")
    pcm = shape_clip(mono)
    if pcm is None:
        raise AudioError(SILENT)
    if len(pcm) < MIN_RECORDING_S * TELEPHONE_RATE:
        raise AudioError(TOO_SHORT)
    return Recording(pcm, kind)


def shape_clip(samples: np.ndarray) -> np.ndarray | None:
    """8 kHz float samples as a clip: ends quieter than -40 dBFS trimmed (10 ms kept),
    peak at -3 dBFS, 16-bit; None when nothing is louder than -40 dBFS."""
    loud = np.flatnonzero(np.abs(samples) > 10 ** (_SILENCE_DB / 20))
    if loud.size == 0:
        return None
    keep = TELEPHONE_RATE // 100
    samples = samples[max(0, loud[0] - keep) : loud[-1] + 1 + keep]
    samples = samples * (10 ** (_PEAK_DB / 20) / float(np.max(np.abs(samples))))
    return np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
