"""Accounts and server policy as the hot path reads them: cached, decrypted, parsed.

Both caches are dropped whenever the store's ``policy_version`` moves (every admin write
bumps it); :meth:`Directory.watch` polls it so other processes' writes are seen within
``cache_ttl_s``. Balances are never cached: they live in the store.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from voiceotp.gateway.settings import IPNetwork, NumberCaps, Settings
from voiceotp.gateway.submit.abuse import AbuseLimits
from voiceotp.store import AccountRecord, Store
from voiceotp.store.keys import KeyBox

log = logging.getLogger(__name__)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NEGATIVE_CACHE_MAX = 10_000  # unknown names remembered, so guessing costs no reads


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the rules need of one account."""

    id: int
    name: str
    apikey: str
    state: str
    require_dynamic: bool
    allow: tuple[IPNetwork, ...]
    blacklist: frozenset[str]
    rate_per_s: int
    caps: NumberCaps
    callback_url: str
    abuse: AbuseLimits  # the server's, with the account's allowance in place
    trial: bool = False  # calls only trial_numbers (until certified)
    trial_numbers: frozenset[str] = frozenset()
    old_apikey: str = ""  # the key before a rotation, accepted until old_apikey_until
    old_apikey_until: float = 0.0

    def allows_ip(self, ip: IPAddress | None) -> bool:
        """Empty allow-list = any IP."""
        if not self.allow:
            return True
        return ip is not None and any(ip in net for net in self.allow)


@dataclass(frozen=True, slots=True)
class ServerPolicy:
    deny: tuple[IPNetwork, ...] = ()
    blacklist: frozenset[str] = frozenset()
    sensitive_words: tuple[str, ...] = ()

    def denies_ip(self, ip: IPAddress | None) -> bool:
        return ip is not None and any(ip in net for net in self.deny)


def parse_networks(items: Iterable[str]) -> tuple[IPNetwork, ...]:
    """IPs and CIDRs; malformed entries are skipped with a warning (never a 500)."""
    nets = []
    for item in items:
        try:
            nets.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            log.warning("ignoring malformed IP/CIDR %r", item)
    return tuple(nets)


class Directory:
    """Cached :class:`AccountState` by name and the :class:`ServerPolicy`."""

    def __init__(self, store: Store, keybox: KeyBox, settings: Settings) -> None:
        self._store = store
        self._keybox = keybox
        self._settings = settings
        self._abuse = abuse_limits(settings)
        self._accounts: dict[str, AccountState | None] = {}
        self._policy = ServerPolicy()
        self._version = -1

    @property
    def policy(self) -> ServerPolicy:
        return self._policy

    async def load(self) -> None:
        """Read the policy and the version; drop cached accounts."""
        self._version = await self._store.policy_version()
        lists = await self._store.policy_entries()
        self._policy = ServerPolicy(
            deny=parse_networks(lists["deny_ip"]),
            blacklist=lists["blacklist"],
            sensitive_words=tuple(sorted(w for w in lists["sensitive_word"] if w)),
        )
        self._accounts.clear()

    async def account(self, name: str) -> AccountState | None:
        """The account named ``name`` (from cache when fresh), or None."""
        if name in self._accounts:
            return self._accounts[name]
        if not (name.isascii() and name.isalnum() and len(name) <= 16):
            return None  # cannot exist: no store read for junk (NUL bytes, megabyte names)
        record = await self._store.get_account(name)
        state = self._state_of(record) if record is not None else None
        if state is not None or len(self._accounts) < _NEGATIVE_CACHE_MAX:
            self._accounts[name] = state
        return state

    def forget(self, name: str) -> None:
        """Drop one account (after this process changed it)."""
        self._accounts.pop(name, None)

    async def refresh_if_changed(self) -> bool:
        """Reload when another writer bumped ``policy_version``; True if it did."""
        if await self._store.policy_version() == self._version:
            return False
        await self.load()
        return True

    async def watch(self) -> None:
        """Poll for changes every ``cache_ttl_s`` (run as a task for the app's life)."""
        while True:
            await asyncio.sleep(self._settings.cache_ttl_s)
            try:
                await self.refresh_if_changed()
            except Exception:  # a database blip must not kill the watcher
                log.exception("policy refresh failed")

    def _state_of(self, record: AccountRecord) -> AccountState:
        defaults = self._settings.caps
        return AccountState(
            id=record.id,
            name=record.name,
            apikey=self._keybox.open(record.apikey_enc),
            state=record.state,
            require_dynamic=record.require_dynamic,
            allow=parse_networks(record.allow_ips),
            blacklist=record.blacklist,
            rate_per_s=(
                record.rate_per_s
                if record.rate_per_s is not None
                else self._settings.account_rate_per_s
            ),
            caps=NumberCaps(
                per_minute=_pick(record.cap_minute, defaults.per_minute),
                per_hour=_pick(record.cap_hour, defaults.per_hour),
                per_24h=_pick(record.cap_day, defaults.per_24h),
            ),
            callback_url=record.callback_url,
            abuse=replace(
                self._abuse,
                distinct_numbers=_pick(record.abuse_distinct_numbers, self._abuse.distinct_numbers),
                prefix_burst=_pick(record.abuse_prefix_burst, self._abuse.prefix_burst),
            ),
            trial=record.trial,
            trial_numbers=frozenset(record.trial_numbers),
            old_apikey=self._keybox.open(record.old_apikey_enc) if record.old_apikey_enc else "",
            old_apikey_until=record.old_apikey_until,
        )


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def abuse_limits(settings: Settings) -> AbuseLimits:
    """The server's abuse limits (an account's allowance replaces some, see AccountState)."""
    return AbuseLimits(
        distinct_numbers=settings.abuse_distinct_numbers,
        distinct_window_s=settings.abuse_distinct_window_s,
        prefix_burst=settings.abuse_prefix_burst,
        prefix_window_s=settings.abuse_prefix_window_s,
        failure_ratio=settings.abuse_failure_ratio,
        failure_min_calls=settings.abuse_failure_min_calls,
    )
