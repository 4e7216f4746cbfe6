"""Prompt sets: twelve 8 kHz clips per language, from espeak-ng or from recorded files.

espeak-ng runs once per clip ever: its converted output is cached on disk under a name
derived from (voice, speed, text, pipeline version), so a gateway restart reads files and a
second gateway sharing the cache directory never runs it at all. Recorded clips are
converted once too, keyed by the file's content.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from voiceotp.delivery.audio.dsp import TELEPHONE_RATE, prepare_clip, quantise
from voiceotp.delivery.audio.errors import AudioError, EspeakNotFound, MissingClip
from voiceotp.delivery.audio.g711 import pcm16_to_alaw, pcm16_to_ulaw
from voiceotp.delivery.audio.voices import CLIP_NAMES, DEFAULT_LANGUAGE, LANGUAGES, Language
from voiceotp.delivery.audio.wavfile import decode_wav, encode_wav

__all__ = [
    "PIPELINE_VERSION",
    "EspeakRunner",
    "PromptSet",
    "default_cache_dir",
    "load_prompt_set",
    "run_espeak",
]

# Bump when clip processing changes, so cached clips are regenerated.
PIPELINE_VERSION = "1"
ESPEAK = "espeak-ng"
_INSTALL_HINT = (
    "espeak-ng is not installed: install the Debian package `espeak-ng` "
    "(apt-get install espeak-ng, or run scripts/setup), or point the prompts "
    "directory at recorded clips"
)

_ENCODERS = {"ulaw": pcm16_to_ulaw, "alaw": pcm16_to_alaw}

EspeakRunner = Callable[[Sequence[str]], bytes]
"""Runs an espeak-ng argument vector and returns the WAV it wrote to stdout."""


@dataclass(frozen=True, eq=False)
class PromptSet:
    """The clips of one language as 8 kHz mono s16le PCM, by name (``0``…``9``, ``intro``,
    ``repeat``). Equal and hashed by content, so it can key the render cache."""

    language: str
    clips: Mapping[str, bytes] = field(repr=False)
    source: str
    digest: str = field(init=False, repr=False)
    _encoded: dict[str, Mapping[str, bytes]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        missing = [name for name in CLIP_NAMES if not self.clips.get(name)]
        if missing:
            raise MissingClip(f"prompt set {self.source!r} lacks clips: {', '.join(missing)}")
        object.__setattr__(self, "clips", MappingProxyType(dict(self.clips)))
        h = hashlib.sha256(self.language.encode())
        for name in CLIP_NAMES:
            h.update(name.encode() + b"\0" + hashlib.sha256(self.clips[name]).digest())
        object.__setattr__(self, "digest", h.hexdigest())

    def encoded(self, codec: str) -> Mapping[str, bytes]:
        """The clips as ``pcm16``, ``ulaw`` or ``alaw`` bytes (encoded once, then kept)."""
        if codec == "pcm16":
            return self.clips
        if codec not in _ENCODERS:
            raise ValueError(f"codec must be pcm16, ulaw or alaw, not {codec!r}")
        if codec not in self._encoded:  # a race only encodes twice: same bytes
            encode = _ENCODERS[codec]
            clips = {name: encode(pcm) for name, pcm in self.clips.items()}
            self._encoded[codec] = MappingProxyType(clips)
        return self._encoded[codec]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PromptSet) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/voiceotp/prompts``, else ``~/.cache/voiceotp/prompts``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "voiceotp" / "prompts"


def run_espeak(argv: Sequence[str]) -> bytes:
    """Run espeak-ng (``argv`` without the program name) and return its WAV output."""
    program = shutil.which(ESPEAK)
    if program is None:
        raise EspeakNotFound(_INSTALL_HINT)
    try:
        done = subprocess.run(  # noqa: S603 - fixed program, arguments from our tables
            [program, *argv], capture_output=True, check=True, timeout=60
        )
    except FileNotFoundError as exc:
        raise EspeakNotFound(_INSTALL_HINT) from exc
    except subprocess.TimeoutExpired as exc:
        raise AudioError(f"espeak-ng did not finish within {exc.timeout} s") from exc
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip()[-300:]
        raise AudioError(f"espeak-ng failed ({exc.returncode}): {detail}") from exc
    return done.stdout


def _cached_clip(path: Path, produce: Callable[[], bytes], label: str) -> bytes:
    """The 8 kHz PCM clip stored at ``path``, produced and stored atomically if absent."""
    if path.is_file():
        return _read_cached(path)
    pcm = produce()
    if not pcm:  # never cache silence: a later fix of the source must take effect
        raise MissingClip(f"{label} is silent")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".wav")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(encode_wav(pcm, codec="pcm16", rate=TELEPHONE_RATE))
        os.replace(tmp, path)  # concurrent writers produce the same bytes; last one wins
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return pcm


def _read_cached(path: Path) -> bytes:
    wav = decode_wav(path.read_bytes())
    if wav.rate != TELEPHONE_RATE or wav.channels != 1:
        raise AudioError(f"cached clip {path} is not 8 kHz mono; delete it to regenerate")
    return quantise(wav.samples)  # exact: the file holds 16-bit samples


def decode_8k(data: bytes) -> bytes:
    """Any supported WAV file's bytes as a prepared 8 kHz clip."""
    wav = decode_wav(data)
    return prepare_clip(wav.samples, wav.rate)


def _espeak_key(lang: Language, name: str) -> str:
    spec = {"voice": lang.voice, "speed": lang.speed, "text": lang.espeak_input[name]}
    blob = json.dumps({**spec, "pipeline": PIPELINE_VERSION}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _espeak_clip(lang: Language, name: str, cache_dir: Path, runner: EspeakRunner) -> bytes:
    argv = ["-v", lang.voice, "-s", str(lang.speed), "--stdout", lang.espeak_input[name]]
    path = cache_dir / "espeak-ng" / lang.voice / f"{name}-{_espeak_key(lang, name)}.wav"
    label = f"espeak-ng clip {name!r} ({lang.voice})"
    return _cached_clip(path, lambda: decode_8k(runner(argv)), label)


def _recorded_clip(file: Path, cache_dir: Path) -> bytes:
    data = file.read_bytes()
    key = hashlib.sha256(data + PIPELINE_VERSION.encode()).hexdigest()[:20]
    path = cache_dir / "recorded" / f"{key}.wav"
    return _cached_clip(path, lambda: decode_8k(data), f"recorded clip {file}")


def _language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise ValueError(f"language must be one of {sorted(LANGUAGES)}, not {code!r}") from None


def load_prompt_set(
    language: str = DEFAULT_LANGUAGE,
    *,
    directory: Path | str | None = None,
    cache_dir: Path | str | None = None,
    runner: EspeakRunner = run_espeak,
) -> PromptSet:
    """Load a language's clips from ``directory`` (recorded ``0.wav`` … ``9.wav``,
    ``intro.wav``, ``repeat.wav``; any rate, width or channel count) or, without one,
    generate them with espeak-ng. Converted clips are cached under ``cache_dir``."""
    lang = _language(language)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if directory is None:
        clips = {name: _espeak_clip(lang, name, cache, runner) for name in CLIP_NAMES}
        return PromptSet(language=language, clips=clips, source=f"espeak-ng:{lang.voice}")
    folder = Path(directory)
    files = {name: folder / f"{name}.wav" for name in CLIP_NAMES}
    missing = [f.name for f in files.values() if not f.is_file()]
    if missing:
        raise MissingClip(f"{folder} lacks recorded clips: {', '.join(missing)}")
    clips = {name: _recorded_clip(file, cache) for name, file in files.items()}
    return PromptSet(language=language, clips=clips, source=f"dir:{folder}")
