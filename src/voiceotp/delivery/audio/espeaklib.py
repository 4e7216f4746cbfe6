"""espeak-ng in this process (libespeak-ng through ctypes), for the notices rendered at
run time: a notice's parts cost a few milliseconds of synthesis each, while starting an
``espeak-ng`` process for each costs 50-100 ms of wall time on a busy host (it waits for
a CPU; it barely uses one). The library's state is global, so one lock serialises its
use in the process. Where the library is not there, :func:`notice_runner` falls back to
the ``espeak-ng`` program (prompts.run_espeak).

Takes the same arguments as the program (``-v VOICE -s WPM --stdout TEXT``) and returns
the same thing, a 16-bit mono WAV, so the two are interchangeable
(:data:`~voiceotp.delivery.audio.prompts.EspeakRunner`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Sequence

from voiceotp.delivery.audio.prompts import EspeakRunner, run_espeak
from voiceotp.delivery.audio.wavfile import encode_wav
from voiceotp.errors import AudioError

__all__ = ["InProcessEspeak", "notice_runner"]

log = logging.getLogger(__name__)

_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS: espeak_Synth returns when the text is done
_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: report errors, never exit() the process
_RATE = 1  # espeakRATE (words per minute)
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class InProcessEspeak:
    """An :data:`EspeakRunner` over libespeak-ng (load it with :meth:`load`)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._voice = ""
        self._speed = 0
        # Kept on the instance: the library holds the pointer for as long as it lives.
        self._callback = _CALLBACK(self._collect)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        self.rate = int(lib.espeak_Initialize(_SYNCHRONOUS, 0, None, _DONT_EXIT))
        if self.rate <= 0:
            raise AudioError("libespeak-ng did not initialise (no espeak-ng-data?)")
        lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def load(cls) -> InProcessEspeak | None:
        """The library, or None when it cannot be loaded."""
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            return cls(ctypes.CDLL(name))
        except (OSError, AttributeError, AudioError) as exc:
            log.info("libespeak-ng not usable (%s): notices use the espeak-ng program", exc)
            return None

    def __call__(self, argv: Sequence[str]) -> bytes:
        voice, speed, text = _arguments(argv)
        data = text.encode()
        with self._lock:
            if voice != self._voice:
                self._voice = ""
                if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                    raise AudioError(f"espeak-ng has no voice {voice!r}")
                self._voice, self._speed = voice, 0  # a new voice starts at its own speed
            if speed != self._speed:
                self._lib.espeak_SetParameter(_RATE, speed, 0)
                self._speed = speed
            self._chunks = []
            buffer = ctypes.create_string_buffer(data)
            status = self._lib.espeak_Synth(
                buffer, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            pcm, self._chunks = b"".join(self._chunks), []
        if status != 0:
            raise AudioError(f"libespeak-ng could not synthesise the text (status {status})")
        return encode_wav(pcm, codec="pcm16", rate=self.rate)

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: int) -> int:
        if wav and count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0  # go on


def _arguments(argv: Sequence[str]) -> tuple[str, int, str]:
    """Voice, speed and text of an espeak-ng command line (-v VOICE -s WPM --stdout TEXT)."""
    args = list(argv)
    voice, speed = "en", 175
    text = args.pop() if args else ""
    while args:
        flag = args.pop(0)
        if flag == "-v" and args:
            voice = args.pop(0)
        elif flag == "-s" and args:
            speed = int(args.pop(0))
        elif flag != "--stdout":
            raise ValueError(f"unsupported espeak-ng argument {flag!r}")
    return voice, speed, text


_SHARED: list[EspeakRunner] = []
_SHARED_LOCK = threading.Lock()


def notice_runner() -> EspeakRunner:
    """The process's in-process espeak-ng (loaded once), else the program."""
    with _SHARED_LOCK:
        if not _SHARED:
            _SHARED.append(InProcessEspeak.load() or run_espeak)
        return _SHARED[0]
