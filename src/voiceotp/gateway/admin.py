"""Operator actions on accounts and server policy — one service behind both the
``voiceotp admin`` CLI and the JSON admin API.

APIKEYs are generated here and returned once (create, rotate); the store keeps them
encrypted. Every write bumps the store's policy version, so running gateways drop their
caches; ``on_change`` lets an in-process gateway reload at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceotp.gateway.admincheck import (
    MAX_BALANCE,
    AdminError,
    NotFound,
    check_account_ref,
    check_int,
    check_mobile,
    check_name,
    check_policy_entry,
    check_reason,
    check_setting,
)
from voiceotp.gateway.privacy import erase_personal_data, export_personal_data
from voiceotp.protocol import mask_mobile
from voiceotp.store import AccountRecord, Store, StoreError
from voiceotp.store.keys import KeyBox, new_account_name, new_apikey
from voiceotp.store.records import ACCOUNT_STATES

__all__ = ["Admin", "AdminError", "NewKey", "NotFound", "describe"]

DEMO_BALANCE = 100


@dataclass(frozen=True, slots=True)
class NewKey:
    account: str
    apikey: str  # shown once


class Admin:
    """Operator actions; ``clock`` stamps ledger and audit rows."""

    def __init__(
        self,
        store: Store,
        keybox: KeyBox,
        clock: Callable[[], float],
        on_change: Callable[[], Awaitable[None]] | None = None,
        *,
        audio_dir: Path | None = None,
    ) -> None:
        """``audio_dir``: where call audio lies (data-subject requests export or erase it)."""
        self._store = store
        self._keybox = keybox
        self._clock = clock
        self._on_change = on_change
        self.audio_dir = audio_dir

    async def create_account(self, *, name: str | None = None, balance: int = 0) -> NewKey:
        """A new account with a fresh APIKEY (returned here, and never again)."""
        name = check_name(new_account_name() if name is None else name)
        balance = check_int("balance", balance)
        if await self._store.get_account(name) is not None:
            raise AdminError(f"account {name} exists")
        apikey = new_apikey()
        sealed = self._keybox.seal(apikey)
        await self._store.create_account(
            name=name, apikey_enc=sealed, balance=balance, now=self._clock()
        )
        await self._audit(name, "account_created", f"balance={balance}")
        return NewKey(name, apikey)

    async def rotate_key(self, name: str, *, grace_s: float = 0) -> NewKey:
        """A new APIKEY (returned once). With ``grace_s`` the key it replaces is still
        accepted for that long (written in the same update); without, it stops at once,
        and so does any earlier key still in its grace."""
        if isinstance(grace_s, bool) or not isinstance(grace_s, int | float) or grace_s < 0:
            raise AdminError("grace_s must be a number of seconds, 0 or more")
        apikey = new_apikey()
        old_enc, until = "", 0.0
        if grace_s:
            old_enc, until = (await self.account(name)).apikey_enc, self._clock() + grace_s
        await self._update(
            name,
            apikey_enc=self._keybox.seal(apikey),
            old_apikey_enc=old_enc,
            old_apikey_until=until,
        )
        await self._audit(name, "key_rotated", f"grace {grace_s:g} s" if grace_s else "")
        return NewKey(name, apikey)

    async def top_up(self, name: str, units: int, reason: str = "topup") -> int:
        """Add (or, negative, remove) units; the new balance, within 0..MAX_BALANCE."""
        units, reason = check_int("units", units), check_reason(reason)
        account = await self.account(name)
        try:
            balance = await self._store.adjust_balance(account.id, units, reason, self._clock())
        except StoreError as exc:
            raise AdminError(
                f"{name}: the balance ({account.balance}) {units:+d} would go below zero "
                f"or above {MAX_BALANCE}"
            ) from exc
        await self._audit(name, "balance_adjusted", f"{units:+d} ({reason})")
        return balance

    async def set_state(self, name: str, state: str) -> AccountRecord:
        """active (unfreeze, or clear an abuse freeze), frozen, abuse_frozen."""
        if state not in ACCOUNT_STATES:
            raise AdminError(f"state must be one of {', '.join(ACCOUNT_STATES)}")
        record = await self._update(name, state=state)
        await self._audit(name, "state_changed", state)
        return record

    async def configure(self, name: str, /, **changes: Any) -> AccountRecord:
        """Change account settings (see ``admincheck.SETTINGS``); values are checked first."""
        if not changes:
            raise AdminError("nothing to change")
        changes = {key: check_setting(key, value) for key, value in changes.items()}
        if "low_balance_alert" in changes:  # a new threshold: armed afresh
            changes["low_balance_alerted"] = False
        record = await self._update(name, **changes)
        if "state" in changes:  # freezes and unfreezes are audited as such
            await self._audit(name, "state_changed", changes["state"])
        others = sorted(set(changes) - {"state", "low_balance_alerted"})
        if others:
            await self._audit(name, "settings_changed", ",".join(others))
        return record

    async def set_blacklisted(self, name: str, mobile: str, listed: bool) -> None:
        mobile = check_mobile(mobile)
        account = await self.account(name)
        await self._store.set_blacklisted(account.id, mobile, listed)
        await self._changed()

    async def set_server_entry(self, kind: str, value: str, present: bool) -> None:
        """Server-wide deny_ip / blacklist / sensitive_word entries."""
        value = check_policy_entry(kind, value)
        await self._store.set_policy_entry(kind, value, present)
        await self._changed()

    async def server_policy(self) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in (await self._store.policy_entries()).items()}

    async def account(self, name: str) -> AccountRecord:
        record = await self._store.get_account(check_account_ref(name))
        if record is None:
            raise NotFound(f"unknown account {name}")
        return record

    async def describe(self, name: str) -> dict[str, Any]:
        """An account as JSON-ready data (never the APIKEY)."""
        return describe(await self.account(name))

    async def list_accounts(self) -> list[dict[str, Any]]:
        return [describe(a) for a in await self._store.list_accounts()]

    async def audit(self, name: str) -> list[dict[str, Any]]:
        account = await self.account(name)
        events = await self._store.audit_events(account.id)
        return [{"kind": e.kind, "detail": e.detail, "at": e.created_at} for e in events]

    async def export_personal_data(
        self, name: str, *, mobile: str = "", with_audio: bool = False
    ) -> dict[str, Any]:
        """A data-subject request: the account's numbers and audio (or one number's);
        audited (the number masked)."""
        mobile = check_mobile(mobile) if mobile else ""
        account = await self.account(name)
        found = await export_personal_data(
            self._store, account, self.audio_dir, mobile=mobile, with_audio=with_audio
        )
        detail = f"{_whose(mobile)}: {len(found['calls'])} calls"
        await self._audit(name, "personal_data_exported", detail)
        return found

    async def erase_personal_data(self, name: str, *, mobile: str = "") -> dict[str, Any]:
        """A data-subject request: mask the numbers and delete the audio of the account's
        ended calls (or one number's); audited (the number masked)."""
        mobile = check_mobile(mobile) if mobile else ""
        account = await self.account(name)
        done = await erase_personal_data(self._store, account, self.audio_dir, mobile=mobile)
        detail = (
            f"{_whose(mobile)}: {done['numbers_masked']} numbers, {done['reports_masked']} "
            f"reports masked, {done['audio_deleted']} audio files deleted"
        )
        await self._audit(name, "personal_data_erased", detail)
        return done

    async def ensure_demo_account(self) -> NewKey | None:
        """On an empty store, a ready demo account (else None)."""
        if await self._store.list_accounts():
            return None
        return await self.create_account(balance=DEMO_BALANCE)

    async def _update(self, name: str, /, **changes: Any) -> AccountRecord:
        try:
            record = await self._store.update_account(check_account_ref(name), **changes)
        except StoreError as exc:
            raise (
                NotFound(str(exc)) if "unknown account" in str(exc) else AdminError(str(exc))
            ) from exc
        await self._changed()
        return record

    async def _audit(self, name: str, kind: str, detail: str) -> None:
        account = await self.account(name)
        await self._store.record_audit(
            account_id=account.id, kind=kind, detail=detail, now=self._clock()
        )

    async def _changed(self) -> None:
        if self._on_change is not None:
            await self._on_change()


def _whose(mobile: str) -> str:
    return mask_mobile(mobile) if mobile else "every number"


def describe(a: AccountRecord) -> dict[str, Any]:
    return {
        "account": a.name,
        "balance": a.balance,
        "state": a.state,
        "require_dynamic": a.require_dynamic,
        "allow_ips": list(a.allow_ips),
        "blacklist": sorted(a.blacklist),
        "rate_per_s": a.rate_per_s,
        "cap_minute": a.cap_minute,
        "cap_hour": a.cap_hour,
        "cap_day": a.cap_day,
        "callback_url": a.callback_url,
        "refund_unconnected": a.refund_unconnected,
        "abuse_distinct_numbers": a.abuse_distinct_numbers,
        "abuse_prefix_burst": a.abuse_prefix_burst,
        "keep_numbers_days": a.keep_numbers_days,
        "keep_audio_days": a.keep_audio_days,
        "low_balance_alert": a.low_balance_alert,
    }
