"""What a batch is made of: input rows, validated items, rejects, and item states."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from voiceotp.protocol import normalize_mobile

MIN_CODE_LENGTH = 4
MAX_CODE_LENGTH = 6


class State(StrEnum):
    """Where an item is in its life. Only PENDING and (on request) UNKNOWN are ever sent."""

    PENDING = "pending"  # not sent yet (or sent and answered "nothing accepted")
    SENDING = "sending"  # durably marked just before its request leaves
    SENT = "sent"  # answered code 2
    FAILED = "failed"  # answered another code: definitive, nothing was accepted
    UNKNOWN = "unknown"  # the request may have been accepted; never re-sent blindly
    SKIPPED = "skipped"  # duplicate number in this run
    REJECTED = "rejected"  # invalid input row, never sent


FINAL_STATES = frozenset({State.SENT, State.FAILED, State.UNKNOWN, State.SKIPPED, State.REJECTED})


@dataclass(frozen=True, slots=True)
class InputRow:
    """One row as read from the input, before validation. ``row`` counts data rows from 1."""

    row: int
    mobile: str
    code: str | None
    raw: str


@dataclass(frozen=True, slots=True)
class Item:
    """A valid row: a normalised number and the code to speak (in a notice batch: the
    notice's content, notices.py)."""

    row: int
    mobile: str
    code: str
    attempts: int = 0
    time: str | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """An input row that will never be sent, and why."""

    row: int
    raw: str
    reason: str


def generate_code(length: int) -> str:
    """A uniformly random code of ``length`` (4-6) digits, from ``secrets``."""
    check_code_length(length)
    return "".join(secrets.choice("0123456789") for _ in range(length))


def check_code_length(length: int) -> None:
    if not MIN_CODE_LENGTH <= length <= MAX_CODE_LENGTH:
        raise ValueError(f"code length must be {MIN_CODE_LENGTH}-{MAX_CODE_LENGTH}, not {length}")


def validate_row(row: InputRow, code_length: int) -> Item | Reject:
    """Normalise and check one input row; a missing code is generated."""
    mobile = normalize_mobile(row.mobile) if row.mobile else None
    if not row.mobile.strip():
        return Reject(row.row, row.raw, "missing mobile")
    if mobile is None:
        return Reject(row.row, row.raw, "invalid mobile")
    code = (row.code or "").strip()
    if not code:
        return Item(row.row, mobile, generate_code(code_length))
    if not (code.isascii() and code.isdigit()):
        return Reject(row.row, row.raw, "code must be ASCII digits")
    if not MIN_CODE_LENGTH <= len(code) <= MAX_CODE_LENGTH:
        return Reject(row.row, row.raw, "code must be 4-6 digits")
    return Item(row.row, mobile, code)
