"""voiceids: unique across processes, not guessable.

Each process takes blocks of a shared sequence from the store (so numbers never repeat),
and publishes ``permute(n)``: a keyed Feistel permutation of the 62-bit range (two
31-bit halves, four keyed-BLAKE2b rounds). The permutation is a bijection, so distinct
sequence numbers give distinct voiceids, and without the server key one voiceid says
nothing about the next. 62 bits keep every voiceid inside a signed 64-bit integer.
"""

from __future__ import annotations

import hashlib

_HALF = 31
_MASK = (1 << _HALF) - 1
_LIMIT = 1 << (2 * _HALF)
_ROUNDS = 4


class VoiceIdCipher:
    """A keyed permutation of ``[1, 2**62)``."""

    def __init__(self, key: bytes) -> None:
        # Keyed hash objects made once; copying one is cheaper than keying a new one.
        self._rounds = [
            hashlib.blake2b(
                key=hashlib.blake2b(key, digest_size=32, person=b"voiceid%d" % i).digest(),
                digest_size=4,
            )
            for i in range(_ROUNDS)
        ]

    def permute(self, n: int) -> int:
        """The voiceid of sequence number ``n`` (1 <= n < 2**62); never 0."""
        if not 0 < n < _LIMIT:
            raise ValueError("sequence number out of range")
        value = self._encrypt(n)
        while value == 0:  # the one number mapped to 0 takes the next step of its cycle
            value = self._encrypt(value)
        return value

    def _encrypt(self, value: int) -> int:
        left, right = value >> _HALF, value & _MASK
        for keyed in self._rounds:
            h = keyed.copy()
            h.update(right.to_bytes(4, "big"))
            left, right = right, left ^ (int.from_bytes(h.digest(), "big") & _MASK)
        return (left << _HALF) | right


class IdPool:
    """Sequence numbers this process reserved from the store's ``voiceid_seq`` counter."""

    BLOCK = 4096

    def __init__(self, cipher: VoiceIdCipher) -> None:
        self._cipher = cipher
        self._next = 0
        self._end = 0  # exclusive

    def shortfall(self, n: int) -> int:
        """How many numbers to reserve (0 if ``n`` are available), in whole blocks."""
        missing = n - (self._end - self._next)
        return 0 if missing <= 0 else max(self.BLOCK, missing)

    def add_block(self, last: int, size: int) -> None:
        """The store moved the counter to ``last``: ``(last - size, last]`` are ours."""
        self._next, self._end = last - size + 1, last + 1

    def take(self) -> int:
        """The next voiceid (as an integer)."""
        if self._next >= self._end:
            raise RuntimeError("voiceid pool exhausted; reserve first")
        n, self._next = self._next, self._next + 1
        return self._cipher.permute(n)
