"""The low-balance alert: when an account's balance falls below its ``low_balance_alert``
(set in the user center), one signed push ``{"type": "low_balance", ...}`` to its
callback URL — once per fall: the account is marked alerted in the same statement that
claims it (so several processes never push twice), and re-armed once the balance is
above the threshold again (a top-up). Run by the delivery sweep (runtime.py), so a fall
is noticed within ``sweep_every_s``. A push that fails is logged, not retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from voiceotp.delivery.notify.direct import PushResult, push_once
from voiceotp.delivery.notify.guard import CallbackGuard
from voiceotp.delivery.notify.notifier import KeyLookup, scrub_urls
from voiceotp.store import Store
from voiceotp.store import usercenter as uc_db
from voiceotp.store.usercenter import LowBalance

__all__ = ["LowBalanceAlerts", "low_balance_doc"]

log = logging.getLogger(__name__)


def low_balance_doc(row: LowBalance, now: float) -> dict[str, object]:
    """The body of a low-balance push."""
    return {
        "type": "low_balance",
        "account": row.account,
        "balance": row.balance,
        "threshold": row.threshold,
        "time": int(now),
    }


class LowBalanceAlerts:
    """Re-arm, claim and push (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        keys: KeyLookup,
        guard: CallbackGuard,
        *,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.keys, self.guard = store, keys, guard
        self.timeout_s, self._clock = timeout_s, clock

    async def check(self) -> dict[str, PushResult]:
        """One round: every account newly below its threshold, and how its push went."""
        await uc_db.rearm_low_balance(self.store)
        claimed = await uc_db.claim_low_balance(self.store)
        results = await asyncio.gather(*(self._push(row) for row in claimed))
        return {row.account: result for row, result in zip(claimed, results, strict=True)}

    async def _push(self, row: LowBalance) -> PushResult:
        apikey = await self.keys(row.account)
        now = self._clock()
        if apikey is None:
            return PushResult(0, "the account is gone", 0.0)
        result = await push_once(
            row.callback_url, low_balance_doc(row, now), apikey,
            guard=self.guard, now=now, timeout_s=self.timeout_s,
        )  # fmt: skip
        where = scrub_urls(row.callback_url)
        if result.ok:
            log.info("low-balance alert of %s pushed to %s", row.account, where)
        else:
            why = result.error
            log.warning("low-balance alert of %s not pushed to %s: %s", row.account, where, why)
        return result
