"""libespeak-ng in the process: the same speech as the espeak-ng program (the same
engine, the same arguments), without a process per part; the program where the library
cannot be loaded."""

from __future__ import annotations

import numpy as np
import pytest

from voiceotp.delivery.audio.espeaklib import InProcessEspeak, _arguments, notice_runner
from voiceotp.delivery.audio.notice import prepare
from voiceotp.delivery.audio.prompts import run_espeak

SAID = ["-v", "cmn-latn-pinyin", "-s", "160", "--stdout", " qing3 ping2 qu3 jian4 ma3"]


def test_the_library_speaks_as_the_program_does() -> None:
    runner = notice_runner()
    assert isinstance(runner, InProcessEspeak)  # espeak-ng is installed: so is its library
    ours, theirs = prepare(runner(SAID)), prepare(run_espeak(SAID))
    assert abs(len(ours) - len(theirs)) <= 80  # within 10 ms at 8 kHz
    # The same voice and words: the loudness of every 20 ms follows the program's (the
    # library's pitch flutter goes on from one text to the next, so the samples differ).
    other = prepare(run_espeak([*SAID[:-1], " nin2 de5 kuai4 di4 yi3 dao4 da2"]))
    assert alike(ours, theirs) > 0.98
    assert alike(other, theirs) < 0.8
    english = prepare(runner(["-v", "en-us", "-s", "150", "--stdout", " your parcel"]))
    assert 0.3 < len(english) / 8000 < 2.0
    again = prepare(runner(SAID))  # after another voice: the same words at the same speed
    assert abs(len(again) - len(ours)) <= 80


def alike(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two clips' 20 ms loudness envelopes."""
    n = min(len(a), len(b)) // 160 * 160

    def envelope(x: np.ndarray) -> np.ndarray:
        return np.sqrt((x[:n].astype(float).reshape(-1, 160) ** 2).mean(axis=1))

    return float(np.corrcoef(envelope(a), envelope(b))[0, 1])


def test_its_arguments_are_the_programs() -> None:
    assert _arguments(SAID) == ("cmn-latn-pinyin", 160, " qing3 ping2 qu3 jian4 ma3")
    with pytest.raises(ValueError, match="unsupported"):
        _arguments(["-w", "out.wav", "text"])


def test_a_library_that_is_not_there_is_no_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes.util

    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libnot-espeak.so.9")
    assert InProcessEspeak.load() is None
