"""The dashboard: live figures over the last hour / day / week, refreshing itself.

Figures are computed at most once every ``FRESH_S[window]`` per window and process,
whatever the number of open dashboards, and only from index ranges, so Submit hardly
waits on them (bench/console.py measures it).
Submits by answer code come from the gateway's own counters (refused Submits are not
stored), sampled at each refresh.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from voiceotp.gateway.api.fraud import throttled_prefixes
from voiceotp.store import Store
from voiceotp.store import console as q
from voiceotp.web.console.core import SUPPORT, Page, view

__all__ = ["dashboard_figures", "dashboard_page"]

WINDOWS = {"hour": 3600.0, "day": 86400.0, "week": 7 * 86400.0}
WINDOW_LABELS = {"hour": "Last hour", "day": "Last day", "week": "Last week"}
# How old a window's figures may be: the longer the window, the more rows it counts and
# the less a minute changes it.
FRESH_S = {"hour": 5.0, "day": 30.0, "week": 60.0}
LOW_BALANCE = 10
FINAL_OUTCOMES = (
    "ANSWERED",
    "BUSY",
    "NO_ANSWER",
    "REJECTED",
    "FAILED",
    "EXPIRED",
    "CANCELED",
    "RELAYED",
    "QUIET_EXPIRED",
)


@dataclass
class Figures:
    at: float
    accepted: int
    outcomes: dict[str, int]
    answer_rate: float | None
    p50: float | None
    p95: float | None
    in_flight: int
    backlog: int
    outbox: int
    low: list[Any]
    frozen: list[Any]


BUCKET_S = 3600
SETTLED_S = 3600  # an hour of calls that ended this long ago no longer changes


@dataclass
class OutcomeCounts:
    """Calls by state over a window, from hourly buckets: a settled hour is counted once
    per process, so a refresh counts only the window's edges and the last hours; the
    event loop gets a turn between buckets (SQLite reads run on it)."""

    settled: dict[int, Counter[str]] = field(default_factory=dict)

    async def window(self, store: Store, since: float, now: float) -> Counter[str]:
        first = math.ceil(since / BUCKET_S) * BUCKET_S
        stable_end = max(first, math.floor((now - SETTLED_S) / BUCKET_S) * BUCKET_S)
        total = Counter(await q.count_by_state(store, since=since, until=min(first, now)))
        for start in range(int(first), int(stable_end), BUCKET_S):
            if start not in self.settled:
                self.settled[start] = Counter(
                    await q.count_by_state(store, since=start, until=start + BUCKET_S)
                )
                await asyncio.sleep(0)
            total += self.settled[start]
        total += Counter(await q.count_by_state(store, since=stable_end, until=now + 1))
        for start in [s for s in self.settled if s < now - 8 * 86400]:
            del self.settled[start]
        return total


@dataclass
class DashboardState:
    """Per process: cached figures by window, and samples of the Submit counters."""

    figures: dict[str, Figures] = field(default_factory=dict)
    outcomes: OutcomeCounts = field(default_factory=OutcomeCounts)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    samples: deque[tuple[float, dict[str, float]]] = field(
        default_factory=lambda: deque(maxlen=720)
    )


def _state(page: Page) -> DashboardState:
    state: DashboardState | None = getattr(page.request.app.state, "console_dashboard", None)
    if state is None:
        state = DashboardState()
        page.request.app.state.console_dashboard = state
    return state


async def dashboard_figures(page: Page, window: str) -> Figures:
    state = _state(page)
    async with state.lock:
        cached = state.figures.get(window)
        now = time.time()
        if cached is None or now - cached.at > FRESH_S[window]:
            since = now - WINDOWS[window]
            cached = state.figures[window] = await _compute(page, state, since, now)
            _sample_submits(page, state, now)
    return cached


async def _compute(page: Page, state: DashboardState, since: float, now: float) -> Figures:
    store = page.store
    by_state = await state.outcomes.window(store, since, now)
    finals = sum(n for s, n in by_state.items() if s in FINAL_OUTCOMES)
    latencies = await q.submit_to_answer(store, since=since)
    low, frozen = await q.accounts_needing_care(store, low_balance=LOW_BALANCE)
    return Figures(
        at=now,
        accepted=sum(by_state.values()),
        outcomes=dict(by_state),
        answer_rate=by_state.get("ANSWERED", 0) / finals if finals else None,
        p50=_quantile(latencies, 0.5),
        p95=_quantile(latencies, 0.95),
        in_flight=await q.calls_in_state(store, state="dialing"),
        backlog=await q.calls_in_state(store, state="queued"),
        outbox=await q.outbox_pending(store),
        low=low,
        frozen=frozen,
    )


def _quantile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _sample_submits(page: Page, state: DashboardState, now: float) -> None:
    counts: dict[str, float] = {}
    for metric in page.gateway.observer.requests.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("method") == "Submit":
                code = sample.labels.get("code", "?")
                counts[code] = counts.get(code, 0.0) + sample.value
    state.samples.append((now, counts))


def submit_rates(state: DashboardState) -> list[tuple[float, dict[str, float]]]:
    """(time, Submits/s by code) between consecutive samples."""
    points = list(state.samples)
    rates = []
    for (t0, c0), (t1, c1) in itertools.pairwise(points):
        span = max(t1 - t0, 1e-6)
        rates.append((t1, {code: (c1[code] - c0.get(code, 0.0)) / span for code in c1}))
    return rates


def rate_chart(rates: list[tuple[float, dict[str, float]]]) -> dict[str, Any]:
    """Polylines (server-rendered SVG) of Submits/s per answer code."""
    width, height = 600.0, 160.0
    codes = sorted({code for _, by_code in rates for code in by_code})
    top = max([v for _, by_code in rates for v in by_code.values()] + [1.0])
    lines = []
    for code in codes:
        step = width / max(len(rates) - 1, 1)
        points = " ".join(
            f"{i * step:.1f},{height - by_code.get(code, 0.0) * height / top:.1f}"
            for i, (_, by_code) in enumerate(rates)
        )
        last = rates[-1][1].get(code, 0.0) if rates else 0.0
        lines.append({"code": code, "points": points, "last": last})
    return {"lines": lines, "top": top, "width": width, "height": height}


@view(SUPPORT)
async def dashboard_page(page: Page) -> Response:
    """The whole page, or (htmx, every few seconds) only its figures."""
    window = page.request.query_params.get("window", "hour")
    window = window if window in WINDOWS else "hour"
    figures = await dashboard_figures(page, window)
    chart = rate_chart(submit_rates(_state(page)))
    template = (
        "dashboard_figures.html" if page.request.headers.get("hx-request") else "dashboard.html"
    )
    return page.render(
        template, section="dashboard", f=figures, window=window, windows=WINDOW_LABELS,
        chart=chart, outcomes=FINAL_OUTCOMES, throttled=await throttled_prefixes(page.gateway),
    )  # fmt: skip
