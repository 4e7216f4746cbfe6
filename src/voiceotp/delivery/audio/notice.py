"""A voice notification's audio: its text read in Mandarin, the template's fixed parts
rendered once and cached (or an operator's recording of them), said ``repeat`` times, as
PCM and G.711 at 8 kHz.

The text is split along its template (fixed parts and variables, protocol/notice.py);
each part is read the Chinese way (zhtext.py) and spoken by espeak-ng's
``cmn-latn-pinyin`` voice (English: ``en-us`` on the text as it is). A fixed part is
rendered once ever: kept in memory and in the prompt cache directory (like the code
prompts' clips); a fixed part with a recording (``recordings``: part index -> the file's
reference under ``data_dir``, recording.py) is that recording instead. A variable is
rendered per call and kept nowhere: its audio is personal data and must not outlive the
call (docs/privacy.md), so a redial renders it again. Notices are synthesised at run
time, so the signal work is numpy + soxr: resampling 22.05 -> 8 kHz costs well under a
millisecond per second of audio (the pure-Python resampler of the code prompts costs
~50 ms). espeak-ng runs in a subprocess: render off the event loop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soxr

from voiceotp.delivery.audio.dsp import TELEPHONE_RATE
from voiceotp.delivery.audio.g711 import _encode_table
from voiceotp.delivery.audio.prompt import FRAME_SAMPLES, MAX_REPEAT, MIN_REPEAT, Prompt, Timing
from voiceotp.delivery.audio.prompts import EspeakRunner, default_cache_dir
from voiceotp.delivery.audio.recording import shape_clip
from voiceotp.delivery.audio.wavfile import decode_wav
from voiceotp.delivery.audio.zhtext import to_pinyin
from voiceotp.errors import AudioError
from voiceotp.protocol.notice import Match, TemplateSyntaxError, match_template, parse_template
from voiceotp.store.files import read_upload

__all__ = ["NOTICE_VOICES", "NoticeRenderer", "Segment"]

log = logging.getLogger(__name__)

# espeak-ng voice per prompt language, and its speed (words per minute).
NOTICE_VOICES = {"zh": ("cmn-latn-pinyin", 160), "en": ("en-us", 150)}
NOTICE_PIPELINE = "notice-1"  # bump when the processing below changes (cache keys)
PAUSE_MS = 200  # a part that is punctuation only (e.g. the closing 。)
GAP_MS = 60  # between a fixed part and a variable: the trimmed clips would touch
RECORDINGS_KEPT = 64  # in memory (each at most 30 s: 480 KB); others are read again
SYNTH_THREADS = 4  # espeak-ng processes of one notice at a time


@dataclass(frozen=True, slots=True)
class Segment:
    """One spoken part of a notice: its text, whether it is a fixed part of the
    template, and where it lies in the rendered audio (seconds); a notice said N times
    has each part N times, ``round`` 0 .. N - 1."""

    text: str
    fixed: bool
    start_s: float
    duration_s: float
    spell: bool = False  # read character by character (a variable named like a code)
    recorded: bool = False  # an operator's recording, not espeak-ng
    round: int = 0  # which saying of the notice (0 .. repeat - 1)


class NoticeRenderer:
    """Renders notices through ``runner`` (espeak-ng); fixed parts cached in memory and
    under ``cache_dir``, recordings read from ``data_dir`` (and kept in memory by their
    reference, which a new upload changes); variables never kept."""

    def __init__(
        self,
        runner: EspeakRunner,
        timing: Timing,
        cache_dir: Path | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self._runner = runner
        self._timing = timing
        self._cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._data_dir = data_dir
        self._fixed: dict[str, np.ndarray] = {}
        # by file reference; a replaced recording's reference is never asked for again
        self._recordings: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=SYNTH_THREADS, thread_name_prefix="espeak")

    def render(
        self,
        text: str,
        language: str,
        repeat: int = 1,
        template: str | None = None,
        recordings: Mapping[int, str] | None = None,
    ) -> tuple[Prompt, list[Segment]]:
        """The notice's audio, and its segments (for tests, and ``voiceotp audio``).
        ``recordings``: fixed part index (0 = the text before the first variable) -> the
        reference of its recording."""
        if not text.strip():
            raise AudioError("a notice with no text")
        if type(repeat) is not int or not MIN_REPEAT <= repeat <= MAX_REPEAT:
            raise ValueError(f"repeat must be {MIN_REPEAT}-{MAX_REPEAT}, not {repeat!r}")
        parts = split_along(text, template)
        if recordings:
            parts = [self._with_recording(p, recordings) for p in parts]
        # One espeak-ng process per part not cached, run side by side: the parts' start-up
        # and synthesis overlap instead of adding up.
        clips = list(self._pool.map(lambda part: self._clip(part, language), parts))
        return self._join(parts, clips, language, repeat)

    def _with_recording(self, part: Part, recordings: Mapping[int, str]) -> Part:
        ref = recordings.get(part.index) if part.fixed else None
        return part if ref is None else Part(part.text, True, index=part.index, recording=ref)

    def _clip(self, part: Part, language: str) -> tuple[np.ndarray, bool]:
        """The part's audio, and whether it is a recording."""
        if part.recording:
            found = self._recording(part.recording)
            if found is not None:
                return found, True
        return self._spoken(part, language), False

    def _spoken(self, part: Part, language: str) -> np.ndarray:
        text, fixed, spell = part.text, part.fixed, part.spell
        if not any(ch.isalnum() for ch in text):  # punctuation only: a pause, not a word
            return np.zeros(TELEPHONE_RATE * PAUSE_MS // 1000, dtype="<i2")
        voice, speed = NOTICE_VOICES.get(language, NOTICE_VOICES["zh"])
        said = to_pinyin(text, spell=spell) if voice.startswith("cmn") else text
        key = hashlib.sha256(f"{NOTICE_PIPELINE}\0{voice}\0{speed}\0{said}".encode()).hexdigest()
        if fixed:
            with self._lock:
                found = self._fixed.get(key)
            if found is not None:
                return found
        path = self._cache_dir / "notice" / voice / f"{key[:32]}.s16"
        if fixed and path.is_file():
            clip = np.frombuffer(path.read_bytes(), dtype="<i2")
        else:
            # A leading space keeps a text starting with "-" from being read as an option.
            clip = prepare(self._runner(["-v", voice, "-s", str(speed), "--stdout", " " + said]))
            if fixed:
                _store(path, clip.tobytes())
        if fixed:  # a variable's audio is dropped with the render: see the module's doc
            with self._lock:
                self._fixed[key] = clip
        return clip

    def _recording(self, ref: str) -> np.ndarray | None:
        """The recording's PCM (None, and espeak-ng speaks the part, when its file is
        gone: removed while the call was on its way)."""
        with self._lock:
            found = self._recordings.get(ref)
            if found is not None:
                self._recordings.move_to_end(ref)
        if found is not None or self._data_dir is None:
            return found
        data = read_upload(self._data_dir, ref)
        if not data:
            log.warning("the recording %s of a notice's fixed part is missing", ref[:8])
            return None
        clip = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2")
        with self._lock:
            self._recordings[ref] = clip
            while len(self._recordings) > RECORDINGS_KEPT:
                self._recordings.popitem(last=False)
        return clip

    def _join(
        self,
        parts: Sequence[Part],
        clips: Sequence[tuple[np.ndarray, bool]],
        language: str,
        repeat: int,
    ) -> tuple[Prompt, list[Segment]]:
        t, rate = self._timing, TELEPHONE_RATE
        gap = np.zeros(rate * GAP_MS // 1000, dtype="<i2")
        once: list[np.ndarray] = []
        segments, at = [], t.lead_in_ms * rate // 1000
        for part, (clip, recorded) in zip(parts, clips, strict=True):
            if once:
                once.append(gap)
                at += len(gap)
            start, length = at / rate, len(clip) / rate
            segments.append(Segment(part.text, part.fixed, start, length, part.spell, recorded))
            once.append(clip)
            at += len(clip)
        pieces = [np.zeros(t.lead_in_ms * rate // 1000, dtype="<i2")]
        between = np.zeros(t.between_repeats_ms * rate // 1000, dtype="<i2")
        said = sum(len(piece) for piece in once)
        first = list(segments)
        for n in range(repeat):
            if n:
                pieces.append(between)
                shift = n * (said + len(between)) / rate
                segments += [replace(s, start_s=s.start_s + shift, round=n) for s in first]
            pieces += once
        pieces.append(np.zeros(t.tail_ms * rate // 1000, dtype="<i2"))
        pcm = np.concatenate(pieces)
        pcm = np.concatenate([pcm, np.zeros(-len(pcm) % FRAME_SAMPLES, dtype="<i2")])
        raw = pcm.astype("<i2").tobytes()
        unsigned = pcm.astype("<i2").view("<u2")
        ulaw = np.frombuffer(_encode_table("ulaw"), dtype=np.uint8)[unsigned].tobytes()
        alaw = np.frombuffer(_encode_table("alaw"), dtype=np.uint8)[unsigned].tobytes()
        prompt = Prompt(language=language, repeat=repeat, pcm16=raw, ulaw=ulaw, alaw=alaw)
        return prompt, segments


@dataclass(frozen=True, slots=True)
class Part:
    """A piece of the notice to render: fixed text of the template or a variable's value
    (``spell``: its digits and letters one by one, for a variable named like a code)."""

    text: str
    fixed: bool
    spell: bool = False
    index: int = -1  # a fixed part's place among the template's fixed parts
    recording: str = ""  # the reference of its recording


# A variable named like one of these holds a code, a number to dial, a tracking number:
# read character by character (``{code}``, ``{order_no}``, ``{phone}``, ``{parcel_id}``).
_SPELLED_NAMES = re.compile(r"(?i)(code|no|num|number|id|phone|tel|mobile|tracking)$")


def split_along(text: str, template: str | None) -> list[Part]:
    """The parts in order: along the template when the text fills it, else the whole
    text as one variable part. Empty fixed parts are left out."""
    if template:
        try:
            found = match_template(text, [parse_template(template)])
        except TemplateSyntaxError:
            found = None
        if isinstance(found, Match):
            fixed, names = found.template.fixed, found.template.variables
            parts = [Part(fixed[0], True, index=0)]
            for n, (value, variable, after) in enumerate(
                zip(found.values, names, fixed[1:], strict=True), start=1
            ):
                spell = _SPELLED_NAMES.search(variable.name) is not None
                parts += [Part(value, False, spell), Part(after, True, index=n)]
            return [p for p in parts if p.text.strip()]
    return [Part(text, False)]


def prepare(wav: bytes) -> np.ndarray:
    """espeak-ng's WAV as an 8 kHz clip: resampled (soxr), ends quieter than -40 dBFS
    trimmed (10 ms kept), peak at -3 dBFS, 16-bit."""
    samples, rate = _read(wav)
    if rate != TELEPHONE_RATE:
        samples = soxr.resample(samples, rate, TELEPHONE_RATE, quality="HQ")
    clip = shape_clip(samples)
    if clip is None:
        raise AudioError("espeak-ng produced no audio for the notice")
    return clip


def _read(wav: bytes) -> tuple[np.ndarray, int]:
    """Mono float samples and the rate: 16-bit PCM mono (espeak-ng's, whose streamed
    header gives no real size) read with numpy, anything else by decode_wav."""
    if wav[:4] == b"RIFF" and wav[8:12] == b"WAVE" and wav[20:22] == b"\x01\x00":
        channels = int.from_bytes(wav[22:24], "little")
        bits = int.from_bytes(wav[34:36], "little")
        data = wav.find(b"data", 36)
        if channels == 1 and bits == 16 and data >= 0:
            size = int.from_bytes(wav[data + 4 : data + 8], "little")
            body = wav[data + 8 : data + 8 + size]  # a streamed header's size runs past the end
            body = body[: len(body) - len(body) % 2]
            rate = int.from_bytes(wav[24:28], "little")
            return np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0, rate
    decoded = decode_wav(wav)
    return np.asarray(decoded.samples, dtype=np.float32), decoded.rate


def _store(path: Path, data: bytes) -> None:
    """Atomically (temp file + rename): renderers of several gateways may share it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
