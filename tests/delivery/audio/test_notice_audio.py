"""A notice's audio: read the Chinese way, split along its template, fixed parts
rendered once, every part where the segments say (real espeak-ng)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.delivery.audio.helpers import CountingRunner
from voiceotp.delivery.audio import DEFAULT_TIMING, PromptLibrary
from voiceotp.delivery.audio.notice import split_along
from voiceotp.delivery.audio.zhtext import cardinal, reading, to_pinyin

TEMPLATE = "尊敬的客户,您于{when:16}消费{amount:12},快递单号{parcel:20}。"
TEXT = "尊敬的客户,您于12月7日 18:30消费1,250.50元,快递单号SF1234567。"


@pytest.mark.parametrize(
    ("text", "heard"),
    [
        ("消费1,250.50元", "消费一千二百五十元五角"),
        ("余额32000元", "余额三万二千元"),
        ("0.05元", "五分"),
        ("12月7日 18:30", "十二月七日 十八点三十分"),
        ("18:05到达", "十八点零五分到达"),
        ("10:00开始", "十点开始"),
        ("2026年", "二零二六年"),
        ("运单SF1234567", "运单SF一二三四五六七"),
        ("尾号0812", "尾号零八一二"),
        ("利率3.5%", "利率百分之三点五"),
        ("共12,000人", "共一万二千人"),
        ("共3件", "共三件"),
    ],
)
def test_numbers_are_read_the_chinese_way(text: str, heard: str) -> None:
    assert reading(text) == heard


def test_cardinals() -> None:
    said = [cardinal(n) for n in (0, 10, 15, 105, 1005, 1010, 10000, 100005, 123456789)]
    assert said == ["零", "十", "十五", "一百零五", "一千零五", "一千零一十", "一万", "十万零五",
                    "一亿二千三百四十五万六千七百八十九"]  # fmt: skip


def test_pinyin_for_espeak() -> None:
    assert to_pinyin("请于18:30取件。") == "qing3 yu2 shi2 ba1 dian3 san1 shi2 fen1 qu3 jian4."
    assert to_pinyin("SF9") == "ai2 si1 ai2 fu1 jiu3"


def test_the_text_splits_along_its_template() -> None:
    parts = split_along(TEXT, TEMPLATE)
    assert [(p.text, p.fixed) for p in parts] == [
        ("尊敬的客户,您于", True),
        ("12月7日 18:30", False),
        ("消费", True),
        ("1,250.50元", False),
        (",快递单号", True),
        ("SF1234567", False),
        ("。", True),
    ]
    assert [p.text for p in split_along("别的内容", TEMPLATE)] == ["别的内容"]
    coded = split_along("取件码8812", "取件码{code:6}")
    assert [(p.text, p.spell) for p in coded] == [("取件码", False), ("8812", True)]
    assert reading("8812", spell=True) == "八八一二"


def test_a_filled_template_is_rendered_part_by_part(tmp_path: Path) -> None:
    runner = CountingRunner()
    library = PromptLibrary(runner=runner, cache_dir=tmp_path)
    prompt, segments = library.notice_segments(TEXT, "zh", 1, TEMPLATE)
    assert [s.text for s in segments] == [p.text for p in split_along(TEXT, TEMPLATE)]
    assert len(runner.calls) == 6  # the closing 。 is a pause, not a clip
    pcm = np.frombuffer(prompt.pcm16, dtype="<i2")
    assert len(prompt.ulaw) % 160 == 0
    assert len(pcm) == len(prompt.ulaw) == len(prompt.alaw)
    last = segments[-1]
    tail = DEFAULT_TIMING.tail_ms / 1000
    assert prompt.duration_s == pytest.approx(last.start_s + last.duration_s + tail, abs=0.03)
    assert 8 < prompt.duration_s < 30
    assert not np.any(pcm[round(last.start_s * 8000) :])  # the closing 。 is a pause
    for segment in segments[:-1]:  # each part is where it is said, as that part alone is
        alone, _ = PromptLibrary(runner=runner, cache_dir=tmp_path / "x").notice_segments(
            segment.text, "zh", 1
        )
        start = round(segment.start_s * 8000)
        part = pcm[start : start + round(segment.duration_s * 8000)]
        clip = np.frombuffer(alone.pcm16, dtype="<i2")
        lead = DEFAULT_TIMING.lead_in_ms * 8
        assert np.array_equal(part, clip[lead : lead + len(part)]), segment.text
        assert np.abs(part.astype(np.int32)).max() > 10_000  # not silence
    # Another notice from the template: only its values go to espeak-ng (the fixed parts
    # are cached); a new library (process) finds the fixed parts in the cache directory.
    runner.calls.clear()
    library.render_notice(TEXT.replace("SF1234567", "YT7654321"), "zh", 1, TEMPLATE)
    assert len(runner.calls) == 3
    assert runner.calls[-1] == " wai4 ti4 qi1 liu4 wu3 si4 san1 er4 yi1"
    runner.calls.clear()
    PromptLibrary(runner=runner, cache_dir=tmp_path).render_notice(TEXT, "zh", 1, TEMPLATE)
    assert len(runner.calls) == 3  # variables only: fixed parts came from the disk cache


def test_repeats_and_an_unknown_template(tmp_path: Path) -> None:
    runner = CountingRunner()
    library = PromptLibrary(runner=runner, cache_dir=tmp_path)
    once = library.render_notice("您好,测试通知。", "zh", 1)
    twice = library.render_notice("您好,测试通知。", "zh", 2)
    gap = DEFAULT_TIMING.between_repeats_ms / 1000
    spoken = once.duration_s - (DEFAULT_TIMING.lead_in_ms + DEFAULT_TIMING.tail_ms) / 1000
    assert twice.duration_s == pytest.approx(once.duration_s + spoken + gap, abs=0.03)


@pytest.mark.parametrize("times", [1, 2, 3])
def test_a_notice_said_n_times_has_every_part_n_times(tmp_path: Path, times: int) -> None:
    library = PromptLibrary(runner=CountingRunner(), cache_dir=tmp_path)
    once, first = library.notice_segments(TEXT, "zh", 1, TEMPLATE)
    prompt, segments = library.notice_segments(TEXT, "zh", times, TEMPLATE)
    t = DEFAULT_TIMING
    spoken = first[-1].start_s + first[-1].duration_s - t.lead_in_ms / 1000
    expected = (t.lead_in_ms + t.tail_ms + (times - 1) * t.between_repeats_ms) / 1000
    assert prompt.duration_s == pytest.approx(expected + times * spoken, abs=0.021)
    assert len(segments) == times * len(first)
    assert [s.round for s in segments] == [n for n in range(times) for _ in first]
    pcm = np.frombuffer(prompt.pcm16, dtype="<i2")
    alone = np.frombuffer(once.pcm16, dtype="<i2")
    for n in range(times):
        said = segments[n * len(first) : (n + 1) * len(first)]
        assert [s.text for s in said] == [s.text for s in first]
        shift = n * (spoken + t.between_repeats_ms / 1000)
        for segment, original in zip(said, first, strict=True):
            assert segment.start_s == pytest.approx(original.start_s + shift, abs=0.0002)
            start, length = round(segment.start_s * 8000), round(segment.duration_s * 8000)
            at = round(original.start_s * 8000)
            assert np.array_equal(pcm[start : start + length], alone[at : at + length])
        if n:  # a pause between two sayings
            quiet = pcm[round((said[0].start_s - t.between_repeats_ms / 1000) * 8000) + 8 :]
            assert not np.any(quiet[: round(t.between_repeats_ms * 8) - 16])


def test_a_value_is_rendered_per_call_and_kept_nowhere(tmp_path: Path) -> None:
    """A value's audio is personal data: it must not outlive its call (docs/privacy.md),
    so the renderer keeps none, in memory or on disk — a redial renders it again."""
    runner = CountingRunner()
    library = PromptLibrary(runner=runner, cache_dir=tmp_path)
    library.render_notice(TEXT, "zh", 1, TEMPLATE)
    first = list(runner.calls)  # 3 fixed parts said, 3 values
    runner.calls.clear()
    library.render_notice(TEXT, "zh", 1, TEMPLATE)  # the same notice again: a redial
    assert len(first) == 6
    assert len(runner.calls) == 3  # its three values again, none from memory
    assert set(runner.calls) < set(first)
    kept = [p.name for p in tmp_path.rglob("*.s16")]
    assert len(kept) == 3  # the three fixed parts that are said, not the values


def test_voiceotp_audio_notice_writes_it_and_says_each_part(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from voiceotp.cli import cli

    out = tmp_path / "n.wav"
    done = CliRunner().invoke(
        cli,
        ["audio", "--notice", "取件码8812,请于18:30前取件。", "--template",
         "取件码{code:6},请于{when:5}前取件。", "-o", str(out), "--cache-dir", str(tmp_path)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "八八一二" in done.output  # {code}: digit by digit
    assert "十八点三十分" in done.output
    assert out.read_bytes()[:4] == b"RIFF"
    both = CliRunner().invoke(cli, ["audio", "1125", "--notice", "x", "-o", str(out)])
    assert both.exit_code == 2


def test_voiceotp_audio_notice_with_a_recording(tmp_path: Path) -> None:
    import io

    import soundfile
    from click.testing import CliRunner

    from voiceotp.cli import cli

    greeting = tmp_path / "greeting.ogg"
    buffer = io.BytesIO()
    t = np.arange(16_000) / 16_000
    soundfile.write(buffer, 0.5 * np.sin(2 * np.pi * 440 * t), 16_000, format="OGG")
    greeting.write_bytes(buffer.getvalue())
    out = tmp_path / "n.wav"
    args = ["audio", "--notice", "取件码8812,请取件。", "--template", "取件码{code:6},请取件。",
            "-o", str(out), "--cache-dir", str(tmp_path), "--repeat", "2"]  # fmt: skip
    done = CliRunner().invoke(cli, [*args, "--recording", f"0={greeting}"])
    assert done.exit_code == 0, done.output
    assert "recorded  取件码" in done.output
    assert done.output.count("八八一二") == 1  # each part listed once, however often said
    wrong = CliRunner().invoke(cli, [*args, "--recording", f"5={greeting}"])
    assert wrong.exit_code == 2
    assert "no fixed part 5" in wrong.output
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF" + bytes(100))
    refused = CliRunner().invoke(cli, [*args, "--recording", f"1={junk}"])
    assert refused.exit_code == 1
    assert "WAV, FLAC, Ogg or MP3" in refused.output
