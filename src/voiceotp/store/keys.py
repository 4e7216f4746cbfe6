"""APIKEYs: generated here, shown once, stored encrypted with the server key (Fernet).

The dynamic password needs the APIKEY itself (md5 over it), so it cannot be hashed;
encryption at rest keeps a copied database from revealing the keys.
"""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet, InvalidToken


class KeyBox:
    """Encrypts and decrypts APIKEYs with the server's Fernet key."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(secret_key.encode())

    def seal(self, apikey: str) -> str:
        return self._fernet.encrypt(apikey.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("APIKEY cannot be decrypted: wrong server key?") from exc


def new_apikey() -> str:
    """32 lowercase hex characters."""
    return secrets.token_hex(16)


def new_account_name() -> str:
    """``V`` + 8 digits."""
    return f"V{secrets.randbelow(10**8):08d}"


def new_secret_key() -> str:
    """A fresh server key for ``VOICEOTP_SECRET_KEY``."""
    return Fernet.generate_key().decode()
