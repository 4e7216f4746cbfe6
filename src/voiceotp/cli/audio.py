"""``voiceotp audio``: write the audio a callee hears for a code, or for a voice
notification (``--notice``), to a WAV file."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from voiceotp.errors import InvalidCode, VoiceOTPError

_EPILOG = """\b
Examples:
  voiceotp audio 1125 -o code.wav
  voiceotp audio 1125 -o code.wav --language en --repeat 3
  voiceotp audio 482913 -o pcmu.wav --codec ulaw      # the exact PCMU payload
  voiceotp audio 1125 -o mine.wav --prompts ./recordings/zh
  voiceotp audio --notice "您于12月7日 18:30消费1,250.50元" -o notice.wav
  voiceotp audio --notice "取件码8812" --template "取件码{code:6}" -o n.wav --repeat 2

\b
A prompt folder holds 0.wav ... 9.wav, intro.wav and repeat.wav (any rate,
width or channel count). Without one, the clips are generated with espeak-ng
(Debian package espeak-ng) once and cached under --cache-dir.
"""


@click.command(epilog=_EPILOG)
@click.argument("code", required=False)
@click.option("--notice", help="A voice notification's text instead of a CODE.")
@click.option("--template", help="The template --notice fills (its fixed parts are cached).")
@click.option(
    "--recording",
    "recordings",
    multiple=True,
    metavar="PART=FILE",
    help="Say FILE (WAV/FLAC/Ogg/MP3) for fixed part PART of --template (0: the text before"
    " the first variable), as an operator's recording would be. Repeatable.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="WAV file to write.",
)
@click.option(
    "--language",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Prompt set language.",
)
@click.option(
    "--repeat",
    type=click.IntRange(1, 3),
    help="How many times the code (default 2) or the notice (default 1, as the dialer"
    " plays it) is said.",
)
@click.option(
    "--codec",
    type=click.Choice(["pcm16", "ulaw", "alaw"]),
    default="pcm16",
    show_default=True,
    help="Sample format of the WAV (ulaw/alaw = the RTP payload bytes).",
)
@click.option(
    "--prompts",
    "prompts_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Folder of recorded clips instead of espeak-ng.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where converted clips are cached [default: $XDG_CACHE_HOME/voiceotp/prompts,"
    " else ~/.cache/voiceotp/prompts].",
)
@click.option(
    "--digit-gap-ms",
    type=click.IntRange(0, 2000),
    default=300,
    show_default=True,
    help="Silence between digits.",
)
def audio(
    code: str | None,
    notice: str | None,
    template: str | None,
    recordings: tuple[str, ...],
    output: Path,
    language: str,
    repeat: int | None,
    codec: str,
    prompts_dir: Path | None,
    cache_dir: Path | None,
    digit_gap_ms: int,
) -> None:
    """Write what the callee hears for CODE (digits) to a WAV file, 8 kHz mono."""
    from voiceotp.delivery.audio import Timing, load_prompt_set, render_prompt

    if not output.parent.is_dir():  # before rendering: say it at once
        raise click.ClickException(
            f"cannot write {output}: the folder {output.parent} does not exist"
        )
    if (code is None) == (notice is None):
        raise click.UsageError("give a CODE or --notice TEXT (one of them)")
    if notice is not None:
        parts = _recordings(recordings)
        _write_notice(notice, template, parts, output, language, repeat or 1, codec, cache_dir)
        return
    if recordings:
        raise click.UsageError("--recording goes with --notice and --template")
    assert code is not None
    repeat = repeat or 2
    try:
        prompts = load_prompt_set(language, directory=prompts_dir, cache_dir=cache_dir)
        prompt = render_prompt(
            code, repeat=repeat, prompts=prompts, timing=Timing(digit_gap_ms=digit_gap_ms)
        )
    except InvalidCode as exc:
        raise click.BadParameter(str(exc), param_hint="CODE") from exc
    except VoiceOTPError as exc:  # espeak-ng missing, unreadable clips ...
        raise click.ClickException(str(exc)) from exc
    try:
        prompt.to_wav(output, codec=codec)
    except OSError as exc:  # a missing folder, no permission, a full disk
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    Console(stderr=True).print(
        f"wrote [bold]{output}[/]: {prompt.duration_s:.2f} s, {codec}, 8000 Hz mono, "
        f"{language} x{repeat} ({prompts.source})"
    )


def _recordings(given: tuple[str, ...]) -> dict[int, bytes]:
    """PART=FILE options: the files' bytes by part."""
    found: dict[int, bytes] = {}
    for item in given:
        part, sep, name = item.partition("=")
        if not sep or not part.isascii() or not part.isdigit():
            raise click.BadParameter(f"{item!r} is not PART=FILE", param_hint="--recording")
        try:
            found[int(part)] = Path(name).read_bytes()
        except OSError as exc:
            msg = f"{name}: {exc.strerror or exc}"
            raise click.BadParameter(msg, param_hint="--recording") from exc
    return found


def _write_notice(
    text: str,
    template: str | None,
    recorded: dict[int, bytes],
    output: Path,
    language: str,
    repeat: int,
    codec: str,
    cache_dir: Path | None,
) -> None:
    """Render a notice (docs/notices.md) and say what each part reads as."""
    import tempfile

    from voiceotp.delivery.audio import PromptLibrary
    from voiceotp.delivery.audio.recording import decode_recording
    from voiceotp.delivery.audio.zhtext import reading
    from voiceotp.gateway.template_audio import fixed_parts
    from voiceotp.store.files import save_upload

    if recorded:
        recordable = {p.index for p in fixed_parts(template)} if template else set()
        for part in sorted(set(recorded) - recordable):
            raise click.BadParameter(f"--template has no fixed part {part} to record")
    try:
        with tempfile.TemporaryDirectory() as folder:  # the recordings, as the gateway keeps them
            refs = {
                part: save_upload(Path(folder), decode_recording(data).pcm.tobytes())
                for part, data in recorded.items()
            }
            library = PromptLibrary(cache_dir=cache_dir, data_dir=Path(folder))
            prompt, segments = library.notice_segments(text, language, repeat, template or "", refs)
        prompt.to_wav(output, codec=codec)
    except VoiceOTPError as exc:  # espeak-ng missing, a file that is not a recording ...
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    err = Console(stderr=True)
    for s in segments:
        if s.round:
            continue  # said again after a pause: the same places, shifted
        kind = "recorded" if s.recorded else "fixed" if s.fixed else "value"
        said = reading(s.text, spell=s.spell)
        err.print(f"  {s.start_s:6.2f} s +{s.duration_s:5.2f} {kind:8}  {said}")
    err.print(f"wrote [bold]{output}[/]: {prompt.duration_s:.2f} s, {codec}, 8000 Hz mono")
