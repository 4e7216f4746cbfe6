"""Idempotency keys: a replay answers the first request's voiceid, whichever process got it.

A key is claimed before the rate and per-number caps (rules.py). Inside one process,
concurrent repeats wait on a future for the owner's outcome. Across processes (Redis),
the key is also claimed in Redis: a repeat sent to another process at the same moment
waits there until the owner's call is in the store (or the owner, having accepted
nothing, gives the claim back); without that it ran into the cap slot the owner had
just reserved and was answered 4081 for a call that was placed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, Protocol

from voiceotp.store import KeyUse, Store

log = logging.getLogger(__name__)
# How long a claim outlives a dead owner (a Submit never takes this long while alive:
# an accept's COMMIT, and the settling of a lost COMMIT answer, take seconds at most).
CLAIM_TTL_S = 30.0
_POLL_FIRST_S = 0.002
_POLL_MAX_S = 0.05

# KEYS[1] the claim; ARGV[1] the owner's token: only the owner deletes its claim.
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class KeyClaims(Protocol):
    """A claim on an idempotency key shared by every process of a deployment."""

    async def try_acquire(self, account_id: int, key: str) -> str | None:
        """The token of a claim just taken, or None when another process holds it."""
        ...

    async def release(self, account_id: int, key: str, token: str) -> None: ...


class RedisKeyClaims:
    """:class:`KeyClaims` in Redis: ``SET NX PX`` with a token, released by its owner only.

    One round trip per keyed Submit: an owner whose call was accepted leaves its claim to
    expire (``ttl_s``), since anyone waiting for it then finds the call in the store; only
    an owner that accepted nothing releases it (one more round trip, on that rare path).
    """

    def __init__(self, client: Any, prefix: str, *, ttl_s: float = CLAIM_TTL_S) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = int(ttl_s * 1000)
        self._release = client.register_script(_RELEASE_LUA)

    def _name(self, account_id: int, key: str) -> str:
        return f"{self._prefix}idem:{account_id}:{key}"

    async def try_acquire(self, account_id: int, key: str) -> str | None:
        token = secrets.token_hex(8)
        taken = await self._client.set(self._name(account_id, key), token, nx=True, px=self._ttl_ms)
        return token if taken else None

    async def release(self, account_id: int, key: str, token: str) -> None:
        await self._release(keys=[self._name(account_id, key)], args=[token])


class ReplayGuard:
    """Idempotency: finds stored keys, and makes concurrent repeats wait for the first.

    :meth:`claim` either returns what the key was already used for (the caller compares
    mobile and content: a replay, or a key reused for another request), or makes the
    caller the key's owner until :meth:`release`; repeats arriving meanwhile (in this
    process, or in another one through ``shared``) wait for the owner's outcome instead of
    racing it (and being refused by the per-number cap).
    """

    def __init__(self, store: Store, shared: KeyClaims | None = None) -> None:
        self._store = store
        self._shared = shared
        self._pending: dict[tuple[int, str], asyncio.Future[KeyUse | None]] = {}
        self._tokens: dict[tuple[int, str], str] = {}
        self.waiting = 0  # requests waiting for another process's claim (tests, metrics)

    async def claim(self, account_id: int, key: str) -> KeyUse | None:
        """The key's first use, or None: then the caller owns the key and must release it."""
        slot = (account_id, key)
        while (pending := self._pending.get(slot)) is not None:
            used = await asyncio.shield(pending)
            if used is not None:
                return used
        self._pending[slot] = asyncio.get_running_loop().create_future()
        try:
            stored = await self._claim_or_find(account_id, key)
        except BaseException:
            await self.release(account_id, key, None)
            raise
        if stored:
            await self.release(account_id, key, stored)
        return stored

    async def _claim_or_find(self, account_id: int, key: str) -> KeyUse | None:
        """Claim the key across processes, or find its call stored meanwhile. Another
        process holding it: poll (2 ms doubling to 50 ms) the claim and the store, until
        its call is stored or it gives the claim back. Redis unreachable: a key already
        stored is still a replay (never a code 0 for a stored call); otherwise the error
        goes on (code 0: nothing is accepted without the caps)."""
        find = self._store.find_idempotent
        if self._shared is None:
            return await find(account_id, key)
        delay = _POLL_FIRST_S
        while True:
            try:
                token = await self._shared.try_acquire(account_id, key)
            except Exception:
                if (stored := await find(account_id, key)) is None:
                    raise
                log.warning("idempotency claim not taken (Redis?); answering the stored replay")
                return stored
            if token is not None:
                self._tokens[(account_id, key)] = token
                return await find(account_id, key)
            if (stored := await find(account_id, key)) is not None:
                return stored
            self.waiting += 1
            try:
                await asyncio.sleep(delay)
            finally:
                self.waiting -= 1
            delay = min(delay * 2, _POLL_MAX_S)

    async def release(self, account_id: int, key: str, used: KeyUse | None) -> None:
        """Publish the owner's outcome (its call, or None if nothing was accepted).

        Called only once the outcome is final. With a call (committed before this) the
        shared claim is left to expire: a waiting process finds the call in the store.
        Without one it is given back, so a waiting process places the call itself."""
        slot = (account_id, key)
        future = self._pending.pop(slot, None)
        if future is not None and not future.done():
            future.set_result(used)
        token = self._tokens.pop(slot, None)
        if token is not None and used is None and self._shared is not None:
            await self._shared.release(account_id, key, token)
