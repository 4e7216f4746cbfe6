"""Delivery on ``/metrics``: call outcomes, backlog, calls in flight, status push.

Counters count what *this* process did (its worker's call ends, its notifier's pushes):
sum them over processes. The backlog gauges are read from the store at each scrape, so
they cover every process sharing it (and mean the same in an API-only ``serve``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge

from voiceotp.delivery.dialer.base import CallStatus
from voiceotp.store.base import Store

__all__ = ["DeliveryMetrics"]

log = logging.getLogger(__name__)

_LIVE_CALLS = (
    "SELECT state, COUNT(*) FROM calls WHERE state IN ('queued', 'dialing') GROUP BY state"
)
# Delivered rows pile up for ever; pending and abandoned ones stay few (index outbox_due).
_OUTBOX = (
    "SELECT state, COUNT(*) FROM outbox WHERE state IN ('pending', 'abandoned') GROUP BY state"
)
PUSH_RESULTS = ("delivered", "retried", "abandoned")
RETENTION_KINDS = ("codes", "numbers", "reports", "signups", "audio", "journal_scrubs")


REGISTRATION_STATES = ("off", "registering", "registered", "failed", "unregistered")


def _is_state(current: Callable[[], str], state: str) -> Callable[[], float]:
    return lambda: 1.0 if current() == state else 0.0


def _is_up(current: Callable[[], Mapping[str, bool]], name: str) -> Callable[[], float]:
    return lambda: 1.0 if current().get(name) else 0.0


class DeliveryMetrics:
    """The delivery metrics of one app (registered on its ``Observer`` registry)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        store: Store,
        *,
        in_flight: Callable[[], int] = lambda: 0,
        registration: Callable[[], str] = lambda: "off",
        trunk_names: Sequence[str] = (),
        trunks_up: Callable[[], Mapping[str, bool]] = dict,
    ) -> None:
        """``in_flight`` counts the calls this process's dialer worker handles now;
        ``registration`` is its SIP trunk registration state (docs/sip.md); ``trunks_up``
        says which of the SIP trunks ``trunk_names`` take calls now (OPTIONS health)."""
        self.store = store
        self.finished = Counter(
            "voiceotp_calls_finished",
            "Calls this process ended, by final status",
            ["status"],
            registry=registry,
        )
        self.queued = Gauge(
            "voiceotp_calls_queued",
            "Accepted calls waiting to be dialed (redials included; whole store)",
            registry=registry,
        )
        self.dialing = Gauge(
            "voiceotp_calls_dialing", "Calls being dialed now (whole store)", registry=registry
        )
        self.in_flight = Gauge(
            "voiceotp_dialer_calls_in_flight",
            "Calls this process's dialer worker is handling now",
            registry=registry,
        )
        self.in_flight.set_function(in_flight)
        self.registration = Gauge(
            "voiceotp_sip_registration",
            "1 for this process's SIP trunk registration state (off: none needed)",
            ["state"],
            registry=registry,
        )
        for state in REGISTRATION_STATES:
            self.registration.labels(state).set_function(_is_state(registration, state))
        self.trunk_up = Gauge(
            "voiceotp_sip_trunk_up",
            "1 while this process's SIP trunk answers OPTIONS pings and takes calls",
            ["trunk"],
            registry=registry,
        )
        for name in trunk_names:
            self.trunk_up.labels(name).set_function(_is_up(trunks_up, name))
        self.outbox = Gauge(
            "voiceotp_push_outbox_reports",
            "Status reports in the outbox by state: pending, abandoned (whole store)",
            ["state"],
            registry=registry,
        )
        self.posts = Counter(
            "voiceotp_push_requests",
            "Status push POSTs by this process, by result: ok (2xx) or failed",
            ["result"],
            registry=registry,
        )
        self.reports = Counter(
            "voiceotp_push_reports",
            "Status reports this process pushed, by result: delivered, retried, abandoned",
            ["result"],
            registry=registry,
        )
        self.retention = Counter(
            "voiceotp_retention_removed",
            "Personal data this process removed: codes (erased at a call's end), numbers "
            "(call records masked), reports (status reports masked), signups (user-center "
            "sign-ups masked), audio (files deleted), "
            "journal_scrubs (SQLite WAL truncated)",
            ["what"],
            registry=registry,
        )
        for what in RETENTION_KINDS:
            self.retention.labels(what)
        for status in CallStatus:  # every series exists from the start, at 0
            self.finished.labels(status.value)
        for result in ("ok", "failed"):
            self.posts.labels(result)
        for result in PUSH_RESULTS:
            self.reports.labels(result)

    def call_finished(self, status: CallStatus) -> None:
        self.finished.labels(status.value).inc()

    def posted(self, ok: bool) -> None:
        """One push POST answered 2xx (``ok``) or not."""
        self.posts.labels("ok" if ok else "failed").inc()

    def reports_ended(self, result: str, count: int = 1) -> None:
        """``count`` reports were delivered, scheduled again (retried) or abandoned."""
        self.reports.labels(result).inc(count)

    def removed(self, what: str, count: int = 1) -> None:
        """``count`` items of personal data were removed (``RETENTION_KINDS``)."""
        if count:
            self.retention.labels(what).inc(count)

    async def refresh(self) -> None:
        """Read the store's gauges (at each scrape); on failure the last values stay."""
        try:
            calls = {str(s): int(n) for s, n in await self.store.read(_LIVE_CALLS)}
            outbox = {str(s): int(n) for s, n in await self.store.read(_OUTBOX)}
        except Exception:
            log.warning("metrics: reading the delivery backlog failed", exc_info=True)
            return
        self.queued.set(calls.get("queued", 0))
        self.dialing.set(calls.get("dialing", 0))
        for state in ("pending", "abandoned"):
            self.outbox.labels(state).set(outbox.get(state, 0))
