"""The fraud guard (4506): throttle number ranges whose codes are never checked.

Toll fraud ("traffic pumping") makes an application ask for codes to premium ranges it
controls; nobody types those codes in. So, per account and per number prefix, the guard
watches the conversion — codes verified / codes sent by Verify — over sliding windows,
and throttles a prefix whose conversion is below ``min_conversion`` once at least
``min_codes`` codes were judged in a window. A throttled prefix is refused for Verify
and Submit alike, until its conversion recovers (the windows slide) or an operator
allows it.

The judgement is recomputed from the store (the ``verifications`` rows: shared by every
gateway process) every ``refresh_s``, in the background (started by the first request
after that, which does not wait for it), and at start. Codes
younger than ``grace_s`` and not yet verified are not judged. Accounts that never had a
code verified in the longest window (Submit-only, or not using Check) are not judged.
Each throttle and release is an audit event, a log line and a metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge

from voiceotp.gateway.submit.verifyconf import VerifySettings
from voiceotp.store import Store

log = logging.getLogger(__name__)
Audit = Callable[[int, str, str, float], Awaitable[None]]  # account id, kind, detail, now
_COUNTS = (
    "SELECT account_id, substr(mobile, 1, $1), COUNT(*), "
    "SUM(CASE WHEN state = 'verified' THEN 1 ELSE 0 END) FROM verifications "
    "WHERE created_at >= $2 AND (created_at < $3 OR state = 'verified') "
    "GROUP BY account_id, substr(mobile, 1, $1)"
)
_OVERRIDES = "SELECT account_id, min_conversion, min_codes, allow_prefixes FROM fraud_overrides"


@dataclass(frozen=True, slots=True)
class Judgement:
    window_s: float
    codes: int
    verified: int
    threshold: float

    def describe(self) -> str:
        return (
            f"{self.verified}/{self.codes} codes verified in {self.window_s:g}s "
            f"(below {self.threshold:.0%})"
        )


@dataclass(frozen=True, slots=True)
class Override:
    min_conversion: float | None = None
    min_codes: int | None = None
    allow_prefixes: tuple[str, ...] = field(default=())


class FraudGuard:
    """Which (account, prefix) pairs are throttled; refreshed from the store."""

    def __init__(
        self,
        store: Store,
        settings: VerifySettings,
        audit: Audit,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.store, self.settings, self._audit = store, settings, audit
        self.throttled: dict[tuple[int, str], Judgement] = {}
        self.overrides: dict[int, Override] = {}
        self._next_refresh = float("-inf")
        self._refreshing: asyncio.Task[None] | None = None
        registry = registry or CollectorRegistry()
        self.gauge = Gauge(
            "voiceotp_fraud_throttled_prefixes",
            "Number prefixes the fraud guard throttles (per account)",
            registry=registry,
        )
        self.refusals = Counter(
            "voiceotp_fraud_refusals",
            "Requests refused by the fraud guard (4506)",
            registry=registry,
        )

    def prefix(self, mobile: str) -> str:
        return mobile[: self.settings.prefix_digits]

    def blocks(self, account_id: int, mobile: str, now: float) -> bool:
        """True when calls from this account to this number's range are throttled.

        Never waits: when the judgement is due, it is recomputed in the background and
        this request is judged by the last one (at most ``refresh_s`` old)."""
        if not self.settings.fraud_guard:
            return False
        if now >= self._next_refresh and (self._refreshing is None or self._refreshing.done()):
            self._next_refresh = now + self.settings.refresh_s
            self._refreshing = asyncio.ensure_future(self._recompute_logged(now))
        prefix = self.prefix(mobile)
        if (account_id, prefix) not in self.throttled or self._allowed(account_id, mobile):
            return False
        self.refusals.inc()
        return True

    def _allowed(self, account_id: int, mobile: str) -> bool:
        allowed = self.settings.allow_prefixes + self._override(account_id).allow_prefixes
        return any(mobile.startswith(p) for p in allowed)

    def _override(self, account_id: int) -> Override:
        return self.overrides.get(account_id) or Override()

    async def refresh(self, now: float) -> None:
        """Recompute the judgement now (at start, and in tests); waits for one running."""
        if self._refreshing is not None and not self._refreshing.done():
            await asyncio.shield(self._refreshing)
        self._next_refresh = now + self.settings.refresh_s
        await self._recompute(now)

    async def stop(self) -> None:
        """Cancel a refresh in flight (before the store closes)."""
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing

    async def _recompute_logged(self, now: float) -> None:
        try:
            await self._recompute(now)
        except Exception:  # judge with what was known: a store hiccup stops no call
            log.exception("fraud guard could not refresh its judgement")

    async def _recompute(self, now: float) -> None:
        self.overrides = await self._load_overrides()
        judged: dict[tuple[int, str], Judgement] = {}
        users_of_check: set[int] = set()
        for window in sorted(self.settings.windows_s):
            rows = await self.store.read(
                _COUNTS, self.settings.prefix_digits, now - window, now - self.settings.grace_s
            )
            for account_id, prefix, codes, verified in rows:
                account_id, codes, verified = int(account_id), int(codes), int(verified or 0)
                if verified:
                    users_of_check.add(account_id)
                verdict = self._judge(account_id, window, codes, verified)
                if verdict is not None:
                    judged.setdefault((account_id, str(prefix)), verdict)
        judged = {k: v for k, v in judged.items() if k[0] in users_of_check}
        await self._publish(judged, now)

    def _judge(self, account_id: int, window: float, codes: int, verified: int) -> Judgement | None:
        o, s = self._override(account_id), self.settings
        min_codes = s.min_codes if o.min_codes is None else o.min_codes
        threshold = s.min_conversion if o.min_conversion is None else o.min_conversion
        if codes < max(1, min_codes) or verified >= threshold * codes:
            return None
        return Judgement(window, codes, verified, threshold)

    async def _publish(self, judged: dict[tuple[int, str], Judgement], now: float) -> None:
        before, self.throttled = self.throttled, judged
        self.gauge.set(len(judged))
        for account_id, prefix in judged.keys() - before.keys():
            detail = f"prefix {prefix}: {judged[account_id, prefix].describe()}"
            log.warning("fraud guard throttles account %d, %s", account_id, detail)
            await self._audit(account_id, "fraud_throttle", detail, now)
        for account_id, prefix in before.keys() - judged.keys():
            log.warning("fraud guard releases account %d, prefix %s", account_id, prefix)
            await self._audit(account_id, "fraud_release", f"prefix {prefix}", now)

    async def _load_overrides(self) -> dict[int, Override]:
        rows = await self.store.read(_OVERRIDES)
        return {
            int(a): Override(
                None if c is None else float(c),
                None if n is None else int(n),
                tuple(p for p in str(allow).split(",") if p),
            )
            for a, c, n, allow in rows
        }
