"""``voiceotp audio`` through click's CliRunner (and once as a real process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.delivery.audio.helpers import pcm_wav, tone
from voiceotp.cli import cli
from voiceotp.delivery.audio import CLIP_NAMES, PromptSet, Timing, decode_wav, render_prompt

SRC = Path(__file__).resolve().parents[3] / "src"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audio", *args])
    return result.exit_code, result.output


def test_writes_what_the_callee_hears(
    tmp_path: Path, espeak_cache: Path, zh_prompts: PromptSet
) -> None:
    out = tmp_path / "code.wav"
    code, output = _run("1125", "-o", str(out), "--cache-dir", str(espeak_cache))
    assert code == 0, output
    assert "code.wav" in output
    expected = render_prompt("1125", prompts=zh_prompts)
    assert out.read_bytes() == expected.wav_bytes("pcm16")


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_english_g711(
    tmp_path: Path, espeak_cache: Path, en_prompts: PromptSet, codec: str
) -> None:
    out = tmp_path / "code.wav"
    args = ["90210", "-o", str(out), "--language", "en", "--repeat", "3", "--codec", codec]
    code, output = _run(*args, "--cache-dir", str(espeak_cache), "--digit-gap-ms", "400")
    assert code == 0, output
    expected = render_prompt("90210", repeat=3, prompts=en_prompts, timing=Timing(digit_gap_ms=400))
    assert out.read_bytes().endswith(expected.payload(codec))


def test_recorded_prompts(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    for i, name in enumerate(CLIP_NAMES):
        (folder / f"{name}.wav").write_bytes(pcm_wav(tone(300 + 50 * i, 16000, 0.1), 16000, 2))
    out = tmp_path / "code.wav"
    code, output = _run(
        "1125", "-o", str(out), "--prompts", str(folder), "--cache-dir", str(tmp_path)
    )
    assert code == 0, output
    assert decode_wav(out.read_bytes()).rate == 8000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["12a5"], "ASCII digits"),
        (["1125", "--repeat", "4"], "1<=x<=3"),
        (["1125", "--codec", "g729"], "g729"),
        (["1125", "--language", "fr"], "fr"),
    ],
)
def test_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = _run(*args, "-o", str(tmp_path / "x.wav"))
    assert code == 2
    assert message in output
    assert not (tmp_path / "x.wav").exists()


def test_missing_espeak_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, output = _run("1125", "-o", str(tmp_path / "x.wav"), "--cache-dir", str(tmp_path))
    assert code == 1
    assert "espeak-ng" in output
    assert "apt-get install espeak-ng" in output


def test_help_has_examples() -> None:
    code, output = _run("--help")
    assert code == 0
    assert "voiceotp audio 1125 -o code.wav" in output
    assert "intro.wav" in output


def test_real_process(tmp_path: Path, espeak_cache: Path, zh_prompts: PromptSet) -> None:
    out = tmp_path / "code.wav"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    argv = [sys.executable, "-m", "voiceotp", "audio", "1125", "-o", str(out)]
    done = subprocess.run(
        [*argv, "--cache-dir", str(espeak_cache)], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == render_prompt("1125", prompts=zh_prompts).wav_bytes()
