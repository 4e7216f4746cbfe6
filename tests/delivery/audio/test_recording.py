"""Operators' recordings of a template's fixed parts: decoded by their content (WAV,
FLAC, Ogg, MP3), bounded, made 8 kHz mono; at render time a recorded part is said
instead of espeak-ng's rendering, where its segment says."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.delivery.audio.helpers import CountingRunner, dominant_frequency
from voiceotp.delivery.audio import DEFAULT_TIMING, PromptLibrary
from voiceotp.delivery.audio.recording import MAX_RECORDING_BYTES, decode_recording
from voiceotp.errors import AudioError
from voiceotp.store.files import save_upload

TEMPLATE = "您的快递【变量】已到达{station:12},请凭取件码{code:6}取件。"
TEXT = "您的快递SF123已到达人民路站,请凭取件码8812取件。"


def recorded(
    seconds: float = 1.0,
    *,
    rate: int = 44_100,
    channels: int = 2,
    fmt: str = "WAV",
    freq: float = 440.0,
    **kw: str,
) -> bytes:
    """A tone as a real audio file (libsndfile writes it)."""
    t = np.arange(round(rate * seconds)) / rate
    signal = 0.5 * np.sin(2 * np.pi * freq * t)
    data = np.repeat(signal[:, None], channels, axis=1)
    out = io.BytesIO()
    soundfile.write(out, data, rate, format=fmt, **kw)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "kw", "kind"),
    [("WAV", {"subtype": "PCM_16"}, "WAV"), ("WAV", {"subtype": "FLOAT"}, "WAV"),
     ("FLAC", {}, "FLAC"), ("OGG", {"subtype": "VORBIS"}, "Ogg"), ("MP3", {}, "MP3")],
)  # fmt: skip
def test_a_recording_becomes_8khz_mono(fmt: str, kw: dict[str, str], kind: str) -> None:
    found = decode_recording(recorded(1.0, fmt=fmt, **kw))
    assert found.kind == kind
    assert found.pcm.dtype == np.dtype("<i2")
    assert found.duration_ms == pytest.approx(1000, abs=60)  # resampled 44.1 -> 8 kHz
    middle = found.pcm[2000:6000].astype(float) / 32768
    assert dominant_frequency(list(middle), 8000) == pytest.approx(440, rel=0.02)
    peak = np.abs(found.pcm.astype(np.int32)).max()
    assert 0.65 * 32767 < peak < 0.72 * 32767  # levelled at -3 dBFS like espeak-ng's parts


def test_the_format_is_decided_by_the_content() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(2000)
    for junk in (png, b"RIFF....WAVEjunk", "您好".encode() * 100, b""):
        with pytest.raises(AudioError, match="WAV, FLAC, Ogg or MP3"):
            decode_recording(junk)
    raw = recorded(1.0, fmt="RAW", subtype="PCM_16")  # headerless samples: no format to tell
    with pytest.raises(AudioError):
        decode_recording(raw)


def test_bounds_of_size_length_and_silence() -> None:
    with pytest.raises(AudioError, match="longer than 30 seconds"):
        decode_recording(recorded(31.0, rate=8000, channels=1))
    with pytest.raises(AudioError, match="larger than"):
        decode_recording(b"RIFF" + bytes(MAX_RECORDING_BYTES))
    silent = io.BytesIO()
    soundfile.write(silent, np.zeros(8000), 8000, format="WAV")
    with pytest.raises(AudioError, match="silent"):
        decode_recording(silent.getvalue())
    with pytest.raises(AudioError, match="too short"):
        decode_recording(recorded(0.05, rate=8000, channels=1))


def test_a_recorded_part_replaces_the_synthesised_one(tmp_path: Path) -> None:
    runner = CountingRunner()
    library = PromptLibrary(runner=runner, cache_dir=tmp_path / "cache", data_dir=tmp_path)
    greeting = decode_recording(recorded(0.8, freq=600.0))
    ref = save_upload(tmp_path, greeting.pcm.tobytes())
    assert (tmp_path / "uploads" / ref).stat().st_mode & 0o777 == 0o600
    prompt, segments = library.notice_segments(TEXT, "zh", 1, TEMPLATE, {0: ref})
    assert [(s.text, s.recorded) for s in segments][:2] == [("您的快递", True), ("SF123", False)]
    assert not any(s.recorded for s in segments[1:])
    assert " nin2 de5 kuai4 di4" not in runner.calls  # part 0 was not synthesised
    assert len(runner.calls) == 6  # the other 3 fixed parts said and the 3 values
    pcm = np.frombuffer(prompt.pcm16, dtype="<i2")
    first = segments[0]
    assert first.start_s == DEFAULT_TIMING.lead_in_ms / 1000
    assert first.duration_s == pytest.approx(greeting.duration_ms / 1000, abs=0.001)
    start = round(first.start_s * 8000)
    assert np.array_equal(pcm[start : start + len(greeting.pcm)], greeting.pcm)
    # the rest is as without the recording, shifted by the difference in length
    plain, plain_segments = library.notice_segments(TEXT, "zh", 1, TEMPLATE)
    shift = first.duration_s - plain_segments[0].duration_s
    for with_rec, without in zip(segments[1:], plain_segments[1:], strict=True):
        assert with_rec.start_s == pytest.approx(without.start_s + shift, abs=0.0002)
        assert with_rec.duration_s == without.duration_s
    assert prompt.duration_s == pytest.approx(plain.duration_s + shift, abs=0.021)


def test_a_missing_recording_is_spoken_instead(tmp_path: Path) -> None:
    runner = CountingRunner()
    library = PromptLibrary(runner=runner, cache_dir=tmp_path / "cache", data_dir=tmp_path)
    _, segments = library.notice_segments(TEXT, "zh", 1, TEMPLATE, {0: "0" * 32})
    assert not segments[0].recorded
    assert " nin2 de5 kuai4 di4" in runner.calls


def test_a_recording_is_read_once_and_a_bounded_number_kept(tmp_path: Path) -> None:
    from voiceotp.delivery.audio import notice

    library = PromptLibrary(runner=CountingRunner(), cache_dir=tmp_path / "c", data_dir=tmp_path)
    refs = [
        save_upload(tmp_path, decode_recording(recorded(0.3, freq=300.0 + 10 * n)).pcm.tobytes())
        for n in range(notice.RECORDINGS_KEPT + 1)
    ]
    _, segments = library.notice_segments(TEXT, "zh", 1, TEMPLATE, {0: refs[0]})
    assert segments[0].recorded
    (tmp_path / "uploads" / refs[0]).unlink()  # read once: memory has it
    assert library.notice_segments(TEXT, "zh", 1, TEMPLATE, {0: refs[0]})[1][0].recorded
    for ref in refs[1:]:  # as many others: the first one leaves memory
        library.notice_segments(TEXT, "zh", 1, TEMPLATE, {0: ref})
    assert not library.notice_segments(TEXT, "zh", 1, TEMPLATE, {0: refs[0]})[1][0].recorded


def test_the_runtime_library_finds_recordings_in_its_data_dir(tmp_path: Path) -> None:
    """make_prompts (what DeliveryRuntime builds) reads recordings from the data dir."""
    from voiceotp.delivery.config import DeliverySettings
    from voiceotp.delivery.factory import make_prompts

    ref = save_upload(tmp_path, decode_recording(recorded(0.5)).pcm.tobytes())
    conf = DeliverySettings(prompt_cache_dir=tmp_path / "cache")
    library = make_prompts(conf, tmp_path)
    _, segments = library.notice_segments(TEXT, "zh", 1, TEMPLATE, {0: ref})
    assert segments[0].recorded
    assert not make_prompts(conf).notice_segments(TEXT, "zh", 1, TEMPLATE, {0: ref})[1][0].recorded
