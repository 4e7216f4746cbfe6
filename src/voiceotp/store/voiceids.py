"""voiceids: unique across processes, not guessable, and increasing.

Each process takes blocks of a shared sequence from the store (so numbers never repeat)
and publishes sequence number ``n`` as ``n << 24 | tag(n)``: ``tag`` is 24 bits of a
keyed BLAKE2b of ``n``. Distinct numbers give distinct voiceids, and without the server
key nobody can name another valid voiceid (a guess next to a known one is right once
in 16.7 million). Every voiceid fits a signed 64-bit integer (``n < 2**38``).

Why increasing: the voiceid is the calls table's key (SQLite's rowid), and keys in
sequence order append to the B-tree's last pages. The keyed permutation used before
scattered every batch's rows over as many pages as rows — measured ~20 µs more CPU per
Submit and a WAL five times larger per commit, growing with the table. What increasing
ids give away: their order, and roughly how many calls were accepted between two of them.
"""

from __future__ import annotations

import hashlib

TAG_BITS = 24
_SEQ_LIMIT = 1 << (62 - TAG_BITS)


def voiceid_number(voiceid: str) -> int | None:
    """The voiceid as the integer key of ``calls``, or None when it cannot be one (not
    ASCII digits, or beyond a signed 64-bit integer: not an id we could have given)."""
    if not (voiceid.isascii() and voiceid.isdigit()) or len(voiceid) > 19:
        return None
    number = int(voiceid)
    return number if number < 2**63 else None


class VoiceIdMint:
    """Turns sequence numbers into voiceids with a keyed tag."""

    def __init__(self, key: bytes) -> None:
        # One keyed hash object, made once; copying it is cheaper than keying a new one.
        self._keyed = hashlib.blake2b(
            key=hashlib.blake2b(key, digest_size=32, person=b"voiceid-tag").digest(),
            digest_size=TAG_BITS // 8,
        )

    def voiceid(self, n: int) -> int:
        """The voiceid of sequence number ``n`` (1 <= n < 2**38); never 0."""
        if not 0 < n < _SEQ_LIMIT:
            raise ValueError("sequence number out of range")
        return (n << TAG_BITS) | self._tag(n)

    def _tag(self, n: int) -> int:
        h = self._keyed.copy()
        h.update(n.to_bytes(8, "big"))
        return int.from_bytes(h.digest(), "big")


class IdPool:
    """Sequence numbers this process reserved from the store's ``voiceid_seq`` counter."""

    BLOCK = 4096

    def __init__(self, mint: VoiceIdMint) -> None:
        self._mint = mint
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
        return self._mint.voiceid(n)
