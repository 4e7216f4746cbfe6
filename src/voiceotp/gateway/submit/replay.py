"""Idempotency keys: a replay answers the first request's voiceid, whichever process got it.

A key is claimed before the rate and per-number caps (rules.py). Inside one process,
concurrent repeats wait on a future for the owner's outcome. Across processes (Redis),
the key is also claimed in Redis: a repeat sent to another process at the same moment
waits there until the owner has answered (its call committed, or nothing accepted), then
finds the call in the store; without that it ran into the cap slot the owner had just
reserved and was answered 4081 for a call that was placed.
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

    async def acquire(self, account_id: int, key: str) -> str:
        """Wait until this process holds the key; return the token to release it with."""
        ...

    async def release(self, account_id: int, key: str, token: str) -> None: ...


class RedisKeyClaims:
    """:class:`KeyClaims` in Redis: ``SET NX PX`` with a token, released by its owner only.

    A waiter polls (2 ms doubling to 50 ms): repeats racing each other are rare, and a
    poll costs one round trip. A claim whose owner died expires after ``ttl_s``.
    """

    def __init__(self, client: Any, prefix: str, *, ttl_s: float = CLAIM_TTL_S) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = int(ttl_s * 1000)
        self._release = client.register_script(_RELEASE_LUA)
        self.waiting = 0  # requests waiting for another process's claim (tests, metrics)

    def _name(self, account_id: int, key: str) -> str:
        return f"{self._prefix}idem:{account_id}:{key}"

    async def acquire(self, account_id: int, key: str) -> str:
        name, token = self._name(account_id, key), secrets.token_hex(8)
        delay = _POLL_FIRST_S
        while not await self._client.set(name, token, nx=True, px=self._ttl_ms):
            self.waiting += 1
            try:
                await asyncio.sleep(delay)
            finally:
                self.waiting -= 1
            delay = min(delay * 2, _POLL_MAX_S)
        return token

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

    @property
    def waiting(self) -> int:
        """Requests waiting for a claim held by another process."""
        return self._shared.waiting if isinstance(self._shared, RedisKeyClaims) else 0

    async def claim(self, account_id: int, key: str) -> KeyUse | None:
        """The key's first use, or None: then the caller owns the key and must release it."""
        slot = (account_id, key)
        while (pending := self._pending.get(slot)) is not None:
            used = await asyncio.shield(pending)
            if used is not None:
                return used
        self._pending[slot] = asyncio.get_running_loop().create_future()
        try:
            await self._claim_shared(account_id, key)
            stored = await self._store.find_idempotent(account_id, key)
        except BaseException:
            await self.release(account_id, key, None)
            raise
        if stored:
            await self.release(account_id, key, stored)
        return stored

    async def _claim_shared(self, account_id: int, key: str) -> None:
        """The key's claim across processes. Redis unreachable: a key already stored is
        still a replay (code 2 from the store alone, never a code 0 for a stored call);
        otherwise the error goes on (code 0: nothing is accepted without the caps)."""
        if self._shared is None:
            return
        try:
            self._tokens[(account_id, key)] = await self._shared.acquire(account_id, key)
        except Exception:
            if await self._store.find_idempotent(account_id, key) is None:
                raise
            log.warning("idempotency claim not taken (Redis?); answering the stored replay")

    async def release(self, account_id: int, key: str, used: KeyUse | None) -> None:
        """Publish the owner's outcome (its call, or None if nothing was accepted).

        Called only once the outcome is final (a call is committed before this), so a
        waiting process that then claims the key finds the call in the store."""
        slot = (account_id, key)
        future = self._pending.pop(slot, None)
        if future is not None and not future.done():
            future.set_result(used)
        token = self._tokens.pop(slot, None)
        if token is not None and self._shared is not None:
            await self._shared.release(account_id, key, token)
