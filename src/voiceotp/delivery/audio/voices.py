"""The prompt sets we ship: which clips a prompt is made of and what espeak-ng says for each.

A prompt set is twelve clips — ``0`` … ``9``, ``intro`` and ``repeat`` — that
:func:`~voiceotp.delivery.audio.prompt.render_prompt` strings together with pauses.
Debian's espeak-ng Mandarin dictionary lacks many common characters (it reads 您 as the
English words for its pinyin), so the Mandarin clips are fed to the ``cmn-latn-pinyin``
voice as tone-numbered pinyin; ``text`` keeps the characters for people and docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["CLIP_NAMES", "DEFAULT_LANGUAGE", "LANGUAGES", "Language"]

DIGITS: Final = tuple("0123456789")
CLIP_NAMES: Final = (*DIGITS, "intro", "repeat")
DEFAULT_LANGUAGE: Final = "zh"


@dataclass(frozen=True)
class Language:
    """One language's prompt set: the spoken text and the espeak-ng input of every clip."""

    code: str
    voice: str  # espeak-ng voice name
    speed: int  # espeak-ng words per minute; slower than its 175 default, for the phone
    text: MappingProxyType[str, str]  # clip name -> what is said
    espeak_input: MappingProxyType[str, str]  # clip name -> what espeak-ng is given


def _language(code: str, voice: str, speed: int, clips: dict[str, tuple[str, str]]) -> Language:
    assert set(clips) == set(CLIP_NAMES), code
    return Language(
        code=code,
        voice=voice,
        speed=speed,
        text=MappingProxyType({name: said for name, (said, _) in clips.items()}),
        espeak_input=MappingProxyType({name: given for name, (_, given) in clips.items()}),
    )


_ZH_DIGITS = zip(
    "零一二三四五六七八九",
    ("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3"),
    strict=True,
)
_EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

LANGUAGES: Final = MappingProxyType(
    {
        "zh": _language(
            "zh",
            "cmn-latn-pinyin",
            150,
            {
                **dict(zip(DIGITS, _ZH_DIGITS, strict=True)),
                "intro": ("您的验证码是", "nin2 de5 yan4 zheng4 ma3 shi4"),
                "repeat": ("重复一遍", "chong2 fu4 yi2 bian4"),
            },
        ),
        "en": _language(
            "en",
            "en-us",
            150,
            {
                **{d: (word, word) for d, word in zip(DIGITS, _EN_DIGITS, strict=True)},
                "intro": ("Your verification code is", "Your verification code is"),
                "repeat": ("Again,", "Again,"),
            },
        ),
    }
)
