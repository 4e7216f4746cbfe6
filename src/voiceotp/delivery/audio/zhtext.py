"""A notice's text the way a Chinese listener expects it read, and as espeak-ng input.

Numbers are read by what they are: amounts as money (``1,250.50元`` 一千二百五十元五角),
times (``18:30`` 十八点三十分), years digit by digit (``2026年`` 二零二六年), percentages
(百分之五), decimals (三点五), counts up to four digits as numbers (``12月7日`` 十二月七日),
and anything longer, with a leading zero or with letters in it — tracking numbers,
phone numbers, codes — character by character (``SF1234567`` S F 一 二 三 …; letters by
their English names). Debian's espeak-ng Mandarin dictionary lacks many characters, so
the text goes to the ``cmn-latn-pinyin`` voice as tone-numbered pinyin (pypinyin), as the
code prompts do (docs/audio.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin

__all__ = ["Piece", "cardinal", "read_pieces", "reading", "to_pinyin"]

DIGITS = "零一二三四五六七八九"
# Letters by their English names, in pinyin a Mandarin voice says close to them.
LETTERS = dict(zip(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    ("ei1", "bi4", "xi1", "di4", "yi4", "ai2 fu1", "ji4", "ai2 qi1", "ai4", "jie4", "kai4",
     "ai2 le5", "ai2 mu5", "en1", "ou1", "pi4", "kiu4", "a4", "ai2 si1", "ti4", "you1",
     "wei4", "da2 bu5 liu5", "ai2 ke4 si1", "wai4", "zei4"),
    strict=True,
))  # fmt: skip
_PAUSES = str.maketrans({"，": ",", "、": ",", "；": ",", "：": ",", "。": ".", "！": ".",
                         "？": ".", "~": ".", "～": ".", "（": ",", "）": ","})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Piece:
    """Part of the reading: Chinese ``text`` (said via pinyin), or a spelled letter
    (``letter`` set, ``text`` its pinyin)."""

    text: str
    letter: str = ""


def cardinal(n: int) -> str:
    """``n`` (0 <= n < 10^16) as a Chinese number: 1250 一千二百五十, 32000 三万二千,
    1005 一千零五, 10 十."""
    if n == 0:
        return "零"
    groups, out, zero = [], "", False
    while n:
        groups.append(n % 10_000)
        n //= 10_000
    for i in range(len(groups) - 1, -1, -1):
        group = groups[i]
        if group == 0:
            zero = bool(out)
            continue
        if out and (zero or group < 1000):
            out += "零"
        out += _below_10000(group) + ("", "万", "亿", "万亿")[i]
        zero = False
    return out[1:] if out.startswith("一十") else out


def _below_10000(n: int) -> str:
    out, zero = "", False
    for unit, place in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // unit % 10
        if digit == 0:
            zero = bool(out)
            continue
        out += ("零" if zero else "") + DIGITS[digit] + place
        zero = False
    return out


def _spelled(chars: str) -> list[Piece]:
    pieces = []
    for ch in chars:
        if ch.isdigit():
            pieces.append(Piece(DIGITS[int(ch)]))
        else:
            pieces.append(Piece(LETTERS[ch.upper()], letter=ch.upper()))
    return pieces


def _money(m: re.Match[str]) -> list[Piece]:
    whole = int(m.group(1).replace(",", ""))
    cents = (m.group(2) or "").ljust(2, "0")
    jiao, fen = int(cents[0]), int(cents[1])
    text = cardinal(whole) + "元" if whole or not (jiao or fen) else ""
    if jiao:
        text += DIGITS[jiao] + "角"
    if fen:
        text += ("零" if text and not jiao else "") + DIGITS[fen] + "分"
    return [Piece(text)]


def _time(m: re.Match[str]) -> list[Piece]:
    hour, minute = int(m.group(1)), int(m.group(2))
    said = cardinal(hour) + "点"
    if minute:
        said += ("零" if minute < 10 else "") + cardinal(minute) + "分"
    return [Piece(said)]


def _decimal(m: re.Match[str]) -> list[Piece]:
    whole, frac = m.group(1).replace(",", ""), m.group(2)
    return [Piece(cardinal(int(whole)) + "点" + "".join(DIGITS[int(d)] for d in frac))]


def _percent(m: re.Match[str]) -> list[Piece]:
    number = _number_text(m.group(1))
    return [Piece("百分之" + number)]


def _number_text(text: str) -> str:
    whole, _, frac = text.replace(",", "").partition(".")
    said = cardinal(int(whole))
    return said + ("点" + "".join(DIGITS[int(d)] for d in frac) if frac else "")


def _count(m: re.Match[str]) -> list[Piece]:
    return [Piece(cardinal(int(m.group(0).replace(",", ""))))]


_N = r"(\d{1,3}(?:,\d{3})+|\d+)"
# First match wins, left to right; each rule's reading.
_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], list[Piece]]], ...] = (
    (re.compile(_N + r"(?:\.(\d{1,2}))?\s*元"), _money),
    (re.compile(r"(?<![\d:])([01]?\d|2[0-3])[:：]([0-5]\d)(?![\d:])"), _time),
    (re.compile(r"(\d+(?:\.\d+)?)\s*[%％]"), _percent),
    (re.compile(r"(\d{4})(?=年)"), lambda m: _spelled(m.group(1))),
    (re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|0\d+|\d{5,}"), lambda m: _spelled(m.group(0))),
    (re.compile(_N + r"\.(\d+)"), _decimal),
    (re.compile(r"\d{1,3}(?:,\d{3})+|\d{1,4}"), _count),
)
_ANY = re.compile("|".join(f"(?:{p.pattern})" for p, _ in _RULES))
_ALNUM = re.compile(r"[A-Za-z0-9]+")


def read_pieces(text: str, *, spell: bool = False) -> list[Piece]:
    """The text as it is read: every number and letter run replaced by its reading
    (``spell``: every run of digits and letters character by character, as for a code)."""
    text = text.translate(_FULLWIDTH)
    pieces: list[Piece] = []
    at = 0
    finder = _ALNUM if spell else _ANY
    while (found := finder.search(text, at)) is not None:
        if spell:
            if found.start() > at:
                pieces.append(Piece(text[at : found.start()]))
            pieces += _spelled(found.group(0))
            at = found.end()
            continue
        if found.start() > at:
            pieces.append(Piece(text[at : found.start()]))
        said, at = _apply(text, found.start())
        pieces += said
    if at < len(text):
        pieces.append(Piece(text[at:]))
    return pieces


_FULLWIDTH = str.maketrans("０１２３４５６７８９：．，", "0123456789:.,")


def _apply(text: str, start: int) -> tuple[list[Piece], int]:
    """The first rule that matches at ``start`` (the one the combined pattern found)."""
    for pattern, rule in _RULES:
        found = pattern.match(text, start)
        if found is not None:
            return rule(found), found.end()
    raise AssertionError("the combined pattern matched no rule")  # pragma: no cover


def reading(text: str, *, spell: bool = False) -> str:
    """What the listener hears, in characters (letters as themselves): for people and tests."""
    return "".join(p.letter or p.text for p in read_pieces(text, spell=spell))


def to_pinyin(text: str, *, spell: bool = False) -> str:
    """espeak-ng's input for the ``cmn-latn-pinyin`` voice: tone-numbered pinyin,
    punctuation as pauses."""
    words: list[str] = []
    for piece in read_pieces(text, spell=spell):
        if piece.letter:
            words.append(piece.text)
            continue
        for chunk in lazy_pinyin(
            piece.text.translate(_PAUSES), style=Style.TONE3, neutral_tone_with_five=True
        ):
            chunk = chunk.strip()
            if chunk:
                words.append(chunk)
    said = " ".join(words).replace(" ,", ",").replace(" .", ".")
    return said.lstrip(", ")  # a part may open with punctuation: no pause before it
