"""APIKEYs: generated here, shown once, stored encrypted with the server key (Fernet).

The dynamic password needs the APIKEY itself (md5 over it), so it cannot be hashed;
encryption at rest keeps a copied database from revealing the keys.

The same server key makes the fingerprint that replaces a call's code once the call has
ended (:meth:`KeyBox.fingerprint`, docs/privacy.md): idempotent replays still compare
codes, and a copied database does not reveal them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken


class KeyBox:
    """Encrypts and decrypts APIKEYs with the server's Fernet key."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(secret_key.encode())
        self._content_key = hashlib.sha256(b"call-content:" + secret_key.encode()).digest()

    def fingerprint(self, mobile: str, content: str) -> str:
        """What a call's ``content`` becomes when the call ends: ``#`` + a keyed hash of
        the number and the code (a 4-6 digit code cannot be guessed back without the key;
        the number keeps equal codes of different numbers apart)."""
        mac = hmac.new(self._content_key, f"{mobile}:{content}".encode(), hashlib.sha256)
        # 28 bits: the column is VARCHAR(8); a wrong code matching by chance (2^-28) would
        # only be taken for a replay of the same key to the same number.
        return ERASED_MARK + mac.hexdigest()[:7]

    def seal(self, apikey: str) -> str:
        return self._fernet.encrypt(apikey.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("APIKEY cannot be decrypted: wrong server key?") from exc


#: The first character of an ended call's ``content``: a fingerprint, not a code.
ERASED_MARK = "#"


def new_apikey() -> str:
    """32 lowercase hex characters."""
    return secrets.token_hex(16)


def new_account_name() -> str:
    """``V`` + 8 digits."""
    return f"V{secrets.randbelow(10**8):08d}"


def new_secret_key() -> str:
    """A fresh server key for ``VOICEOTP_SECRET_KEY``."""
    return Fernet.generate_key().decode()
