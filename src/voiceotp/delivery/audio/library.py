"""The prompt sets one gateway speaks, loaded once and shared by its dialers."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from voiceotp.delivery.audio.espeaklib import InProcessEspeak, notice_runner
from voiceotp.delivery.audio.notice import NOTICE_VOICES, NoticeRenderer, Segment
from voiceotp.delivery.audio.prompt import DEFAULT_TIMING, Prompt, Timing, render_prompt
from voiceotp.delivery.audio.prompts import EspeakRunner, PromptSet, load_prompt_set, run_espeak
from voiceotp.delivery.audio.voices import DEFAULT_LANGUAGE, LANGUAGES

__all__ = ["PromptLibrary"]


class PromptLibrary:
    """Per-language prompt sets (a recorded folder where configured, espeak-ng otherwise),
    one clip cache directory and one :class:`Timing`.

    Call :meth:`warm` at start-up: it may run espeak-ng and encodes every clip to G.711,
    after which :meth:`render` only joins bytes (sub-millisecond, fine on an event loop);
    it also loads the notices' voices into libespeak-ng.
    """

    def __init__(
        self,
        *,
        directories: Mapping[str, Path | str] | None = None,
        cache_dir: Path | str | None = None,
        timing: Timing = DEFAULT_TIMING,
        default_language: str = DEFAULT_LANGUAGE,
        runner: EspeakRunner = run_espeak,
        data_dir: Path | None = None,
    ) -> None:
        """``data_dir``: where the operators' recordings of template parts are
        (store/files.py); without it, every part is spoken by espeak-ng."""
        unknown = sorted({*(directories or {}), default_language} - set(LANGUAGES))
        if unknown:
            raise ValueError(f"unknown prompt languages: {', '.join(unknown)}")
        self.directories = dict(directories or {})
        self.cache_dir = cache_dir
        self.timing = timing
        self.default_language = default_language
        self._runner = runner
        self._sets: dict[str, PromptSet] = {}
        # Notices are rendered while the caller waits: libespeak-ng in this process when
        # espeak-ng is the default program (espeaklib.py), not a process per part.
        # (loaded at the first notice or warm(): a gateway that speaks only codes never does)
        self._in_process = runner is run_espeak
        speaker = _speak_in_process if self._in_process else runner
        self._notices = NoticeRenderer(
            speaker, timing, Path(cache_dir) if cache_dir is not None else None, data_dir
        )
        self._lock = threading.Lock()  # one load per language, even from several threads

    def prompt_set(self, language: str | None = None) -> PromptSet:
        """The loaded prompt set of ``language`` (default language when None)."""
        lang = language or self.default_language
        with self._lock:
            if lang not in self._sets:
                self._sets[lang] = load_prompt_set(
                    lang,
                    directory=self.directories.get(lang),
                    cache_dir=self.cache_dir,
                    runner=self._runner,
                )
            return self._sets[lang]

    def warm(self, languages: Iterable[str] | None = None) -> None:
        """Load and G.711-encode the prompt sets of ``languages`` (default: all known)."""
        for lang in languages if languages is not None else LANGUAGES:
            prompts = self.prompt_set(lang)
            prompts.encoded("ulaw")
            prompts.encoded("alaw")
            speaker = notice_runner() if self._in_process else None
            if isinstance(speaker, InProcessEspeak):  # its voice data, loaded now
                voice, speed = NOTICE_VOICES.get(lang, NOTICE_VOICES["zh"])
                speaker(["-v", voice, "-s", str(speed), "--stdout", " a"])

    def render_notice(
        self,
        text: str,
        language: str | None = None,
        repeat: int = 1,
        template: str = "",
        recordings: Mapping[int, str] | None = None,
    ) -> Prompt:
        """What the callee hears for a voice notification's ``text`` filling ``template``
        (its fixed parts cached or recorded — ``recordings``: fixed part index -> file
        reference; runs espeak-ng otherwise: call it off the event loop)."""
        return self.notice_segments(text, language, repeat, template, recordings)[0]

    def notice_segments(
        self,
        text: str,
        language: str | None = None,
        repeat: int = 1,
        template: str = "",
        recordings: Mapping[int, str] | None = None,
    ) -> tuple[Prompt, list[Segment]]:
        """:meth:`render_notice` and where each part of the text lies in it."""
        lang = language or self.default_language
        return self._notices.render(text, lang, repeat, template or None, recordings)

    def render(self, code: str, language: str | None = None, repeat: int = 2) -> Prompt:
        """What the callee hears for ``code`` (see :func:`render_prompt`)."""
        return render_prompt(
            code, repeat=repeat, prompts=self.prompt_set(language), timing=self.timing
        )


def _speak_in_process(argv: Sequence[str]) -> bytes:
    """The process's libespeak-ng (or the program), loaded at its first use."""
    return notice_runner()(argv)
