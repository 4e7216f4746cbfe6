"""``voiceotp audio --notice`` writes what the dialer plays for a notice: said once."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from voiceotp.cli import cli
from voiceotp.delivery.audio import PromptLibrary

TEXT = "您的快递SF123已到达人民路站。"
TEMPLATE = "您的快递{no:8}已到达{station:8}。"


def test_notice_by_default_is_what_the_worker_plays(tmp_path: Path) -> None:
    out = tmp_path / "notice.wav"
    args = ["audio", "--notice", TEXT, "--template", TEMPLATE, "-o", str(out)]
    result = CliRunner().invoke(cli, [*args, "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    # the queue worker renders a notice with repeat 1 (delivery/queue/worker.py)
    played = PromptLibrary(cache_dir=tmp_path / "cache").render_notice(TEXT, "zh", 1, TEMPLATE)
    expected, written = played.wav_bytes("pcm16"), out.read_bytes()
    # libespeak-ng in the process carries a little pitch wobble from one text to the next,
    # so the samples differ slightly; the header and the length (said once) do not
    assert written[:44] == expected[:44]
    assert len(written) == len(expected)


def test_notice_repeat_still_repeats(tmp_path: Path) -> None:
    once, twice = tmp_path / "once.wav", tmp_path / "twice.wav"
    cache = ["--cache-dir", str(tmp_path / "cache")]
    for out, n in ((once, "1"), (twice, "2")):
        args = ["audio", "--notice", TEXT, "-o", str(out), "--repeat", n, *cache]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    assert twice.stat().st_size > once.stat().st_size * 3 // 2
