"""Session-wide espeak-ng prompt sets, generated once into a temporary cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.delivery.audio.helpers import CountingRunner
from voiceotp.delivery.audio import PromptSet, load_prompt_set


@pytest.fixture(scope="session")
def espeak_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prompt-cache")


@pytest.fixture(scope="session")
def espeak_runner() -> CountingRunner:
    return CountingRunner()


@pytest.fixture(scope="session")
def zh_prompts(espeak_cache: Path, espeak_runner: CountingRunner) -> PromptSet:
    return load_prompt_set("zh", cache_dir=espeak_cache, runner=espeak_runner)


@pytest.fixture(scope="session")
def en_prompts(espeak_cache: Path, espeak_runner: CountingRunner) -> PromptSet:
    return load_prompt_set("en", cache_dir=espeak_cache, runner=espeak_runner)
