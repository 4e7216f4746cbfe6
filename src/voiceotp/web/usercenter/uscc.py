"""统一社会信用代码 (unified social credit code, GB 32100-2015): 18 characters from
``0-9`` and ``A-Z`` without I, O, Z, S, V; the last is a check character over the first 17
(weights 3^(i-1) mod 31, check = 31 - sum mod 31)."""

from __future__ import annotations

__all__ = ["USCC_ALPHABET", "check_character", "is_valid_uscc", "normalise_uscc"]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, ...


def normalise_uscc(text: str) -> str:
    """What a customer typed, without spaces and in capitals (the code has no lower case)."""
    return "".join(text.split()).upper()


def check_character(first17: str) -> str:
    """The 18th character of a code that starts with ``first17`` (ValueError otherwise)."""
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise ValueError("17 characters of the USCC alphabet expected")
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """18 characters of the alphabet whose last is the check character of the rest."""
    if len(code) != 18 or any(c not in _VALUE for c in code):
        return False
    return check_character(code[:17]) == code[17]
