"""Prompt sets: espeak-ng generation and its disk cache, recorded folders, errors."""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.delivery.audio.helpers import CountingRunner, dominant_frequency, pcm_wav, tone
from voiceotp.delivery.audio import (
    CLIP_NAMES,
    LANGUAGES,
    AudioError,
    EspeakNotFound,
    MissingClip,
    PromptSet,
    load_prompt_set,
    run_espeak,
)
from voiceotp.delivery.audio.dsp import quantise


def _samples(pcm: bytes) -> list[float]:
    return [v / 32768 for v in struct.unpack(f"<{len(pcm) // 2}h", pcm)]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_espeak_runs_once_per_clip(
    language: str, espeak_cache: Path, espeak_runner: CountingRunner, request: pytest.FixtureRequest
) -> None:
    first: PromptSet = request.getfixturevalue(f"{language}_prompts")
    inputs = LANGUAGES[language].espeak_input
    counts = Counter(espeak_runner.calls)
    assert all(counts[inputs[name]] == 1 for name in CLIP_NAMES)
    again = load_prompt_set(language, cache_dir=espeak_cache, runner=espeak_runner)
    assert Counter(espeak_runner.calls) == counts  # served from the disk cache
    assert again == first
    assert dict(again.clips) == dict(first.clips)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_espeak_clips_are_speech_like(language: str, request: pytest.FixtureRequest) -> None:
    prompts: PromptSet = request.getfixturevalue(f"{language}_prompts")
    assert prompts.source.startswith("espeak-ng:")
    for name in CLIP_NAMES:
        samples = _samples(prompts.clips[name])
        seconds = len(samples) / 8000
        assert 0.15 <= seconds <= 3.0, name
        assert max(abs(v) for v in samples) == pytest.approx(0.7, abs=0.001)
    digits = [prompts.clips[d] for d in "0123456789"]
    assert len(set(digits)) == 10  # ten different words
    assert len(_samples(prompts.clips["intro"])) > max(len(d) // 2 for d in digits)


def test_a_new_cache_key_regenerates(tmp_path: Path, espeak_cache: Path) -> None:
    # Nothing shared with the session cache: every clip is generated, each exactly once.
    runner = CountingRunner()
    load_prompt_set("en", cache_dir=tmp_path, runner=runner)
    assert sorted(runner.calls) == sorted(LANGUAGES["en"].espeak_input.values())
    assert len(list((tmp_path / "espeak-ng" / "en-us").glob("*.wav"))) == len(CLIP_NAMES)


def test_missing_espeak_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng on it
    with pytest.raises(EspeakNotFound, match=r"Debian package `espeak-ng`"):
        load_prompt_set("zh", cache_dir=tmp_path / "cache")


def _record_folder(folder: Path, names: tuple[str, ...] = CLIP_NAMES) -> dict[str, float]:
    """16 kHz stereo clips, each a tone of its own frequency, after 50 ms of silence."""
    folder.mkdir()
    freqs = {}
    for i, name in enumerate(names):
        freqs[name] = 400.0 + 150 * i
        samples = [0.0] * 800 + tone(freqs[name], 16000, 0.25, amplitude=0.3)
        (folder / f"{name}.wav").write_bytes(pcm_wav(samples, 16000, channels=2))
    return freqs


def test_recorded_folder_is_converted(tmp_path: Path) -> None:
    freqs = _record_folder(tmp_path / "rec")
    runner = CountingRunner()
    prompts = load_prompt_set("en", directory=tmp_path / "rec", cache_dir=tmp_path, runner=runner)
    assert runner.calls == []
    assert prompts.source == f"dir:{tmp_path / 'rec'}"
    for name in CLIP_NAMES:
        samples = _samples(prompts.clips[name])
        # 0.25 s at 8 kHz, leading silence trimmed (10 ms margin + filter tails kept)
        assert 2000 <= len(samples) <= 2000 + 2 * 80 + 8, name
        assert dominant_frequency(samples[100:-100], 8000) == pytest.approx(freqs[name], rel=0.02)
    again = load_prompt_set("en", directory=tmp_path / "rec", cache_dir=tmp_path)
    assert again == prompts


def test_recorded_folder_change_is_picked_up(tmp_path: Path) -> None:
    _record_folder(tmp_path / "rec")
    before = load_prompt_set("zh", directory=tmp_path / "rec", cache_dir=tmp_path)
    (tmp_path / "rec" / "7.wav").write_bytes(pcm_wav(tone(2500, 16000, 0.3), 16000))
    after = load_prompt_set("zh", directory=tmp_path / "rec", cache_dir=tmp_path)
    assert after != before
    assert after.clips["7"] != before.clips["7"]
    assert all(after.clips[n] == before.clips[n] for n in CLIP_NAMES if n != "7")


def test_recorded_folder_missing_clips(tmp_path: Path) -> None:
    _record_folder(tmp_path / "rec", names=CLIP_NAMES[:-2])
    with pytest.raises(MissingClip, match=r"intro\.wav, repeat\.wav"):
        load_prompt_set("zh", directory=tmp_path / "rec", cache_dir=tmp_path)


def test_silent_recorded_clip_is_refused(tmp_path: Path) -> None:
    _record_folder(tmp_path / "rec")
    (tmp_path / "rec" / "intro.wav").write_bytes(pcm_wav([0.0] * 800, 16000))
    with pytest.raises(MissingClip, match="intro"):
        load_prompt_set("zh", directory=tmp_path / "rec", cache_dir=tmp_path)


def test_unknown_language(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="language"):
        load_prompt_set("fr", cache_dir=tmp_path)


def test_prompt_set_equality_is_by_content() -> None:
    clips = {name: quantise(tone(500, 8000, 0.05)) for name in CLIP_NAMES}
    a = PromptSet(language="zh", clips=clips, source="a")
    b = PromptSet(language="zh", clips=dict(clips), source="b")
    c = PromptSet(language="en", clips=clips, source="a")
    assert a == b
    assert hash(a) == hash(b)
    assert a != c


def test_encoded_clips_match_the_codecs() -> None:
    from voiceotp.delivery.audio import pcm16_to_alaw, pcm16_to_ulaw

    prompts = PromptSet(
        language="zh",
        clips={n: quantise(tone(500 + 10 * i, 8000, 0.02)) for i, n in enumerate(CLIP_NAMES)},
        source="t",
    )
    assert prompts.encoded("pcm16") is prompts.clips
    assert prompts.encoded("ulaw") is prompts.encoded("ulaw")  # kept
    for name, pcm in prompts.clips.items():
        assert prompts.encoded("ulaw")[name] == pcm16_to_ulaw(pcm)
        assert prompts.encoded("alaw")[name] == pcm16_to_alaw(pcm)
    with pytest.raises(ValueError, match="codec"):
        prompts.encoded("g722")


def test_espeak_failure_is_reported_and_nothing_cached(tmp_path: Path) -> None:
    def wrong_voice(argv: Sequence[str]) -> bytes:
        return run_espeak(["-v", "nosuchvoice", *argv[2:]])

    with pytest.raises(AudioError, match="voice does not exist"):
        load_prompt_set("en", cache_dir=tmp_path, runner=wrong_voice)
    assert list(tmp_path.rglob("*.wav")) == []


def test_espeak_silence_is_not_cached(tmp_path: Path) -> None:
    def says_nothing(argv: Sequence[str]) -> bytes:
        return run_espeak([*argv[:-1], ""])

    with pytest.raises(MissingClip, match="silent"):
        load_prompt_set("en", cache_dir=tmp_path, runner=says_nothing)
    assert list(tmp_path.rglob("*.wav")) == []
