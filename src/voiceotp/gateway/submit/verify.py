"""Verify and Check (voiceotp extensions; docs/verify.md): the gateway makes up the code,
keeps only a keyed hash of it (and a sealed copy for the dialer), and compares.

A Verify runs Submit's pipeline with :meth:`Verifier.prepare` in place of the content
rules: the code comes from a CSPRNG and leaves this module only sealed. A Check is
:meth:`Verifier.check`: the latest code of the number, a constant-time comparison of
HMACs, then one conditional UPDATE that counts the attempt, in batches
(store/checks.py). Guessing across codes is throttled (4505) per number in the store and
per account by :class:`WrongCodeGuard` (in this process, or in Redis for every process).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from voiceotp.gateway.submit.rules import Answer, Ctx
from voiceotp.gateway.submit.verifyconf import TTL_MAX_S, TTL_MIN_S, VerifySettings
from voiceotp.protocol import Code, mask_mobile
from voiceotp.store import Store
from voiceotp.store.checks import CheckBatcher, CheckQuery
from voiceotp.store.keys import KeyBox
from voiceotp.store.records import VerifySeal
from voiceotp.store.verify import CheckVerdict, CodeRow

log = logging.getLogger(__name__)
_VERDICT_CODES = {
    CheckVerdict.VERIFIED: Code.OK,
    CheckVerdict.WRONG: Code.CODE_WRONG,
    CheckVerdict.EXPIRED: Code.CODE_EXPIRED,
    CheckVerdict.EXHAUSTED: Code.ATTEMPTS_USED_UP,
    CheckVerdict.NO_PENDING: Code.NO_PENDING_CODE,
    CheckVerdict.THROTTLED: Code.CHECK_THROTTLED,
}
Verified = Callable[[int, str, float], Awaitable[None]]  # account id, voiceid, time


def make_code(length: int) -> str:
    """``length`` digits from the OS's CSPRNG."""
    return f"{secrets.randbelow(10**length):0{length}d}"


class WrongCodes(Protocol):
    """Wrong codes per account: this process's (memory) or every process's (Redis)."""

    async def count(self, account_id: int, now: float, window_s: float) -> int: ...

    async def add(self, account_id: int, now: float, window_s: float) -> None: ...


class MemoryWrongCodes:
    """Wrong codes per account in a sliding window, counted in this process."""

    def __init__(self) -> None:
        self._wrong: dict[int, deque[float]] = defaultdict(deque)

    async def count(self, account_id: int, now: float, window_s: float) -> int:
        times = self._wrong.get(account_id)
        if times is None:
            return 0
        while times and now - times[0] >= window_s:
            times.popleft()
        if not times:
            del self._wrong[account_id]
            return 0
        return len(times)

    async def add(self, account_id: int, now: float, window_s: float) -> None:
        self._wrong[account_id].append(now)


class WrongCodeGuard:
    """Wrong codes per account in a sliding window, across numbers and codes (the
    per-number limit is counted in the store, see CheckQuery)."""

    def __init__(self, settings: VerifySettings, counts: WrongCodes | None = None) -> None:
        self._s = settings
        self.counts: WrongCodes = counts or MemoryWrongCodes()

    async def blocks(self, account_id: int, now: float) -> bool:
        limit = self._s.wrong_per_account
        return (
            bool(limit)
            and await self.counts.count(account_id, now, self._s.wrong_window_s) >= limit
        )

    async def wrong(self, account_id: int, now: float) -> None:
        if self._s.wrong_per_account:
            await self.counts.add(account_id, now, self._s.wrong_window_s)


class Verifier:
    """Makes, seals and checks codes; holds the keys for both."""

    def __init__(
        self,
        store: Store,
        keybox: KeyBox,
        secret_key: str,
        settings: VerifySettings,
        on_verified: Verified | None = None,
        wrong_codes: WrongCodes | None = None,
    ) -> None:
        """``wrong_codes``: counted with every API process (Redis) when given."""
        self.store, self.settings, self._keybox = store, settings, keybox
        self._mac_key = hashlib.sha256(b"verify-code:" + secret_key.encode()).digest()
        self.guard = WrongCodeGuard(settings, wrong_codes)
        self.checks = CheckBatcher(store)
        self.on_verified = on_verified

    def mac(self, salt: str, code: str) -> str:
        return hmac.new(self._mac_key, (salt + code).encode(), hashlib.sha256).hexdigest()

    def prepare(self, ctx: Ctx) -> Answer | None:
        """Verify's own rule: check ``length``/``ttl``, make the code and seal it."""
        length = _int_param(ctx.param("length"), self.settings.code_length)
        if length is None or not 4 <= length <= 6:
            return Answer(Code.LENGTH_INVALID)
        ttl = _int_param(ctx.param("ttl"), self.settings.ttl_s)
        if ttl is None or not TTL_MIN_S <= ttl <= TTL_MAX_S:
            return Answer(Code.TTL_INVALID)
        code, salt = make_code(length), secrets.token_hex(16)
        ctx.seal = VerifySeal(
            salt=salt,
            code_mac=self.mac(salt, code),
            code_enc=self._keybox.seal(code),
            expires_at=ctx.now + ttl,
            max_attempts=self.settings.max_attempts,
        )
        return None

    async def throttled(self, ctx: Ctx) -> Answer | None:
        """4505 when this account guessed wrong too often lately (the number's own limit
        is judged with its code, in the store)."""
        assert ctx.account is not None
        blocked = await self.guard.blocks(ctx.account.id, ctx.now)
        return Answer(Code.CHECK_THROTTLED) if blocked else None

    async def check(self, ctx: Ctx) -> Answer:
        """Compare the given code with the number's latest one (or ``voiceid``'s)."""
        assert ctx.account is not None
        mobile, given = ctx.param("mobile"), ctx.param("code")
        voiceid = _voiceid(ctx.param("voiceid"))
        if voiceid == -1:
            return Answer(Code.NO_PENDING_CODE)
        query = CheckQuery(
            ctx.account.id,
            mobile,
            voiceid,
            ctx.now,
            lambda row: self._matches(row, given),
            wrong_limit=self.settings.wrong_per_number,
            wrong_since=ctx.now - self.settings.wrong_window_s,
        )
        verdict, row = await self.checks.check(query)
        if row is None:
            return Answer(Code.NO_PENDING_CODE)
        if verdict is CheckVerdict.WRONG:
            await self.guard.wrong(ctx.account.id, ctx.now)
            log.info("wrong code for %s (call %s)", mask_mobile(mobile), row.voiceid)
        elif verdict is CheckVerdict.VERIFIED:
            if ctx.account.callback_url:  # only a status push needs to know
                await self._verified(ctx.account.id, row.voiceid, ctx.now)
            return Answer(Code.OK, voiceid=row.voiceid)
        return Answer(_VERDICT_CODES[verdict])

    def _matches(self, row: CodeRow, given: str) -> bool:
        # Always computed and compared in full: the time taken says nothing of the code.
        return hmac.compare_digest(self.mac(row.salt, given[:16]), row.code_mac)

    async def _verified(self, account_id: int, voiceid: str, now: float) -> None:
        if self.on_verified is None:
            return
        try:
            await self.on_verified(account_id, voiceid, now)
        except Exception:  # the code is consumed and committed: never fail the answer
            log.exception("verified hook failed for call %s", voiceid)


def _int_param(value: str, default: int) -> int | None:
    if not value:
        return default
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else None


def _voiceid(value: str) -> int | None:
    """None when not given, -1 when it cannot be one of ours."""
    if not value:
        return None
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return -1
