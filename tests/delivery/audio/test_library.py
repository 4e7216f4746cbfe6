"""PromptLibrary: per-language sources, one load per language, renders through the LRU."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.delivery.audio.helpers import CountingRunner, pcm_wav, tone
from voiceotp.delivery.audio import CLIP_NAMES, PromptLibrary, PromptSet, Timing, render_prompt


def _folder(path: Path) -> Path:
    path.mkdir()
    for i, name in enumerate(CLIP_NAMES):
        (path / f"{name}.wav").write_bytes(pcm_wav(tone(300 + 40 * i, 8000, 0.1), 8000))
    return path


def test_recorded_english_and_generated_mandarin(
    tmp_path: Path, espeak_cache: Path, zh_prompts: PromptSet
) -> None:
    runner = CountingRunner()
    library = PromptLibrary(
        directories={"en": _folder(tmp_path / "en")},
        cache_dir=espeak_cache,
        timing=Timing(digit_gap_ms=350),
        runner=runner,
    )
    library.warm()
    assert runner.calls == []  # Mandarin came from the clip cache
    assert library.prompt_set() == zh_prompts
    assert library.prompt_set("en").source.startswith("dir:")
    prompt = library.render("1125", "en", repeat=1)
    assert prompt == render_prompt(
        "1125", repeat=1, prompts=library.prompt_set("en"), timing=Timing(digit_gap_ms=350)
    )


def test_each_language_loads_once_across_threads(tmp_path: Path) -> None:
    library = PromptLibrary(directories={"zh": _folder(tmp_path / "zh")}, cache_dir=tmp_path)
    seen: list[PromptSet] = []
    threads = [threading.Thread(target=lambda: seen.append(library.prompt_set())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in seen}) == 1


def test_unknown_language_is_refused_early(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fr"):
        PromptLibrary(directories={"fr": tmp_path})
    with pytest.raises(ValueError, match="de"):
        PromptLibrary(default_language="de")
