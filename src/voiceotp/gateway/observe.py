"""Operations: Prometheus metrics (one registry per app, no globals) and access logs
with numbers masked and secrets never written."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Awaitable, Callable
from typing import IO, Any

from prometheus_client import CONTENT_TYPE_LATEST as METRICS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from voiceotp.protocol import IncomingRequest, Result, mask_mobile

access_log = logging.getLogger("voiceotp.access")
__all__ = [
    "METRICS_CONTENT_TYPE",
    "BufferedStreamHandler",
    "Observer",
    "clean",
    "flush_access_log",
]


_APIID_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]{1,13}")


def loggable_account(value: str) -> str:
    """An APIID as it is; anything else (a client that put its APIKEY in ``account``)
    only by its first three characters, escaped, and its length."""
    if _APIID_LIKE.fullmatch(value):
        return value
    return f"{clean(value[:3])}…({len(value)})" if value else "-"


def clean(value: str) -> str:
    """``value`` safe inside one space-separated log field: control characters, spaces
    and other whitespace, and backslashes are escaped (``\\n``, ``\\x00``, ``\\x20``,
    ``\\\\``), so a request cannot forge a line or a field (``account=X%0aFAKE``)."""
    if value.isprintable() and " " not in value and "\\" not in value:
        return value  # the usual case: one C-level scan
    return "".join(_escape(c) for c in value)


_ESCAPES = {"\\": "\\\\", " ": "\\x20"}  # the two printable characters escaped


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    return char if char.isprintable() else repr(char)[1:-1]  # \n, \x00, \u2028, ...


class Observer:
    """Counts and times every ihuyi request; writes one masked access-log line."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        #: awaited before each scrape: gauges that must be read (e.g. from the store)
        self.refreshers: list[Callable[[], Awaitable[None]]] = []
        self._children: dict[tuple[str, int], Any] = {}
        self._timers: dict[str, Any] = {}
        self.requests = Counter(
            "voiceotp_requests",
            "ihuyi requests by method and result code",
            ["method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "voiceotp_request_seconds",
            "Time to answer an ihuyi request",
            ["method"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.holds = Counter(
            "voiceotp_balance_holds", "Units held by accepted Submits", registry=self.registry
        )
        self.batch = Histogram(
            "voiceotp_commit_batch_size",
            "Acceptances committed per transaction",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )

    def request(
        self, client: object, incoming: IncomingRequest, result: Result, seconds: float, soap: bool
    ) -> None:
        """Count and time one answered request; ``client`` is formatted only if logged."""
        method = incoming.method.value if incoming.method else "unknown"
        key = (method, result.code)
        counter = self._children.get(key)
        if counter is None:  # labels() costs a lock and a tuple build; do it once per pair
            counter = self._children[key] = self.requests.labels(method, str(result.code))
        counter.inc()
        timer = self._timers.get(method)
        if timer is None:
            timer = self._timers[method] = self.latency.labels(method)
        timer.observe(seconds)
        if access_log.isEnabledFor(logging.INFO):
            mobile = incoming.get("mobile")
            access_log.info(
                "%s %s%s account=%s mobile=%s code=%d %.1fms",
                clean(str(client)),
                clean(method),
                " soap" if soap else "",
                loggable_account(incoming.get("account")),
                clean(mask_mobile(mobile)) if mobile else "-",
                result.code,
                seconds * 1000,
            )

    def accepted(self) -> None:
        self.holds.inc()

    async def refresh(self) -> None:
        for refresh in self.refreshers:
            await refresh()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that writes lines to a buffered stream and flushes it from a
    thread every ``interval_s`` (and when closed), not after every record.

    A ``write(2)`` per access-log line cost about as much as the rest of logging it;
    lines now reach the stream at most ``interval_s`` late.
    """

    def __init__(self, stream: IO[str], interval_s: float = 0.5) -> None:
        super().__init__(stream)
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_every, args=(interval_s,), name="log-flush", daemon=True
        )
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            if self._stop.is_set():
                # Closed, yet still attached: ``logging.config.dictConfig`` (uvicorn's
                # set-up) closes every handler but leaves the loggers' lists alone. With
                # the flusher gone, lines would wait for 64 KiB: write each one now.
                self.flush()
        except Exception:
            self.handleError(record)

    def _flush_every(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.flush()  # takes the handler's lock: never mid-line

    def close(self) -> None:
        self._stop.set()
        self.flush()
        super().close()


def flush_access_log() -> None:
    """Write out buffered access-log lines now: uvicorn ends by re-raising the signal
    that stopped it, so atexit (and logging's own final flush) never runs."""
    for handler in access_log.handlers:
        handler.flush()
