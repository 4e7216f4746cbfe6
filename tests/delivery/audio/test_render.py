"""render_prompt: the order of clips and silences, repeats, G.711 payloads, caching, WAVs."""

from __future__ import annotations

import gc
import shutil
import wave
import weakref
from pathlib import Path

import pytest

from tests.delivery.audio.helpers import synthetic_prompts
from voiceotp.delivery.audio import (
    FRAME_BYTES,
    Prompt,
    PromptSet,
    Timing,
    decode_wav,
    default_prompt_set,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    render_prompt,
)
from voiceotp.errors import InvalidCode


def _zeros(ms: int) -> bytes:
    return bytes(16 * ms)  # 8 samples per ms, 2 bytes each


def _expected(code: str, repeat: int, p: PromptSet, t: Timing) -> bytes:
    """The prompt written out by hand from the layout in the module docstring."""
    c = p.clips
    digits = _zeros(t.digit_gap_ms).join(c[d] for d in code)
    once = c["intro"] + _zeros(t.after_intro_ms) + digits
    again = _zeros(t.between_repeats_ms) + c["repeat"] + _zeros(t.after_repeat_ms) + once
    return _zeros(t.lead_in_ms) + once + again * (repeat - 1) + _zeros(t.tail_ms)


def _check_layout(prompt: Prompt, expected: bytes) -> None:
    pcm = prompt.pcm16
    assert pcm[: len(expected)] == expected
    padding = pcm[len(expected) :]
    assert padding == bytes(len(padding))
    assert len(padding) < 2 * FRAME_BYTES
    assert len(pcm) % (2 * FRAME_BYTES) == 0


@pytest.mark.parametrize("repeat", [1, 2, 3])
@pytest.mark.parametrize("code", ["1125", "907", "4820136"])
def test_layout_with_synthetic_clips(code: str, repeat: int) -> None:
    prompts, timing = synthetic_prompts(), Timing(digit_gap_ms=250, lead_in_ms=0)
    prompt = render_prompt(code, repeat=repeat, prompts=prompts, timing=timing)
    _check_layout(prompt, _expected(code, repeat, prompts, timing))
    assert prompt.repeat == repeat


def test_layout_of_the_mandarin_default(zh_prompts: PromptSet) -> None:
    prompt = render_prompt("112580", prompts=zh_prompts)
    assert (prompt.language, prompt.repeat) == ("zh", 2)
    _check_layout(prompt, _expected("112580", 2, zh_prompts, Timing()))


def test_english_prompt(en_prompts: PromptSet) -> None:
    prompt = render_prompt("1125", "en", repeat=3, prompts=en_prompts)
    assert prompt.language == "en"
    _check_layout(prompt, _expected("1125", 3, en_prompts, Timing()))


def test_more_repeats_last_longer(zh_prompts: PromptSet) -> None:
    durations = [render_prompt("1125", repeat=r, prompts=zh_prompts).duration_s for r in (1, 2, 3)]
    assert durations[0] < durations[1] < durations[2]
    assert 2.0 < durations[0] < 10.0


@pytest.mark.parametrize("repeat", [0, 4, -1, True, 2.0])
def test_repeat_bounds(repeat: object) -> None:
    with pytest.raises(ValueError, match="repeat"):
        render_prompt("1125", repeat=repeat, prompts=synthetic_prompts())  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["", "12a4", "１２３４", " 1234", "1" * 17, 1234])
def test_code_must_be_ascii_digits(code: object) -> None:
    with pytest.raises(InvalidCode):
        render_prompt(code, prompts=synthetic_prompts())  # type: ignore[arg-type]


def test_language_must_match_prompt_set() -> None:
    with pytest.raises(ValueError, match="language"):
        render_prompt("1125", "en", prompts=synthetic_prompts("zh"))


def test_g711_payloads_are_whole_frames() -> None:
    prompt = render_prompt("1125", prompts=synthetic_prompts())
    assert prompt.ulaw == pcm16_to_ulaw(prompt.pcm16)
    assert prompt.alaw == pcm16_to_alaw(prompt.pcm16)
    assert len(prompt.ulaw) == len(prompt.alaw) == len(prompt.pcm16) // 2
    assert len(prompt.ulaw) % 160 == 0
    assert prompt.duration_s == len(prompt.ulaw) / 8000
    assert prompt.rtp_audio == {"PCMU": prompt.ulaw, "PCMA": prompt.alaw}


def test_renders_are_not_kept_in_memory() -> None:
    """A render is a code, spoken: nothing holds it after its call (docs/privacy.md); an
    equal render is made again, and differs with the code, repeat, set and timing."""
    prompts = synthetic_prompts()
    first = render_prompt("1125", prompts=prompts)
    again = render_prompt("1125", prompts=synthetic_prompts())
    assert again == first
    assert again is not first
    held = weakref.ref(first)
    del first, again
    gc.collect()
    assert held() is None
    base = render_prompt("1125", prompts=prompts)
    assert render_prompt("1126", prompts=prompts) != base
    assert render_prompt("1125", repeat=3, prompts=prompts) != base
    assert render_prompt("1125", prompts=synthetic_prompts("en")) != base
    assert render_prompt("1125", prompts=prompts, timing=Timing(digit_gap_ms=400)) != base


def test_default_prompt_set_uses_the_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, espeak_cache: Path, en_prompts: PromptSet
) -> None:
    shutil.copytree(espeak_cache, tmp_path / "voiceotp" / "prompts")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))  # espeak-ng would fail: the cache must serve
    default_prompt_set.cache_clear()
    try:
        prompt = render_prompt("1125", "en")
        assert default_prompt_set("en") == en_prompts
    finally:
        default_prompt_set.cache_clear()
    assert prompt.pcm16 == render_prompt("1125", prompts=en_prompts).pcm16


@pytest.mark.parametrize(("codec", "width"), [("pcm16", 2), ("ulaw", 1), ("alaw", 1)])
def test_to_wav(tmp_path: Path, codec: str, width: int) -> None:
    prompt = render_prompt("1125", prompts=synthetic_prompts())
    path = prompt.to_wav(tmp_path / f"{codec}.wav", codec=codec)
    data = path.read_bytes()
    assert data.endswith(prompt.payload(codec))
    wav = decode_wav(data)
    assert (wav.rate, wav.channels, len(wav.samples)) == (8000, 1, len(prompt.ulaw))
    if codec == "pcm16":  # the standard library agrees on the header
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, width)
            assert w.readframes(w.getnframes()) == prompt.pcm16


def test_unknown_codec() -> None:
    prompt = render_prompt("1125", prompts=synthetic_prompts())
    with pytest.raises(ValueError, match="codec"):
        prompt.wav_bytes("g729")


def test_repr_hides_audio_and_code() -> None:
    text = repr(render_prompt("482913", prompts=synthetic_prompts()))
    assert "482913" not in text
    assert len(text) < 100
