"""Passwords hashed with argon2id (argon2-cffi's defaults: RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from voiceotp.errors import WebInputError

__all__ = ["MIN_PASSWORD", "check_new_password", "hash_password", "verify_password"]

MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verified when the login is unknown, so that answer takes as long as a wrong password.
_DUMMY = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(check_new_password(password))


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise WebInputError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise WebInputError("a password has at most 1024 characters")
    return password


def verify_password(encoded: str | None, password: str) -> bool:
    """True when ``password`` matches ``encoded`` (None: unknown user, always False)."""
    try:
        return _hasher.verify(encoded or _DUMMY, password) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
