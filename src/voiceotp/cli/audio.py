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
        _write_notice(notice, template, output, language, repeat or 1, codec, cache_dir)
        return
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


def _write_notice(
    text: str,
    template: str | None,
    output: Path,
    language: str,
    repeat: int,
    codec: str,
    cache_dir: Path | None,
) -> None:
    """Render a notice (docs/notices.md) and say what each part reads as."""
    from voiceotp.delivery.audio import PromptLibrary
    from voiceotp.delivery.audio.zhtext import reading

    try:
        prompt, segments = PromptLibrary(cache_dir=cache_dir).notice_segments(
            text, language, repeat, template or ""
        )
        prompt.to_wav(output, codec=codec)
    except VoiceOTPError as exc:  # espeak-ng missing ...
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    err = Console(stderr=True)
    for s in segments:
        kind, said = "fixed" if s.fixed else "value", reading(s.text, spell=s.spell)
        err.print(f"  {s.start_s:6.2f} s +{s.duration_s:5.2f} {kind:5}  {said}")
    err.print(f"wrote [bold]{output}[/]: {prompt.duration_s:.2f} s, {codec}, 8000 Hz mono")
