"""The notifier: pushes due status reports from the outbox to each account's callback URL.

Due reports are grouped per (account, URL) into one signed POST of a JSON array. A 2xx
answer acknowledges the whole batch; anything else (another status, a redirect, a timeout,
a refused connection) schedules each report again per :class:`PushSchedule`, until 24 h
after the report was created. Every POST is recorded in the outbox, one
:class:`~voiceotp.delivery.notify.outbox.PushAttempt` per report it carried (HTTP status,
or 0 and why not). Delivery is at least once: receivers drop duplicates by
``report_id``. Only addresses :class:`~voiceotp.delivery.notify.guard.CallbackGuard`
permits are reached (no loopback or private networks unless allowed); a URL it refuses
outright is given up at once, a name that resolves only to refused addresses is retried
like any failed connection.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit

import aiohttp

from voiceotp import __version__
from voiceotp.delivery.notify.backoff import PushSchedule, next_push_at
from voiceotp.delivery.notify.guard import BlockedAddress, CallbackGuard, guarded_session
from voiceotp.delivery.notify.outbox import ERROR_LIMIT, Outbox, OutboxItem, PushAttempt
from voiceotp.delivery.notify.report import encode_reports
from voiceotp.delivery.notify.signing import signature_headers

__all__ = ["KeyLookup", "Notifier", "PushStats", "post_signed", "scrub_urls"]

log = logging.getLogger(__name__)

#: account (APIID) -> its APIKEY, or None when the account is gone
KeyLookup = Callable[[str], Awaitable[str | None]]


class PushStats(Protocol):
    """What the notifier reports as it works (``/metrics``: delivery/metrics.py)."""

    def posted(self, ok: bool) -> None:
        """One POST was answered 2xx (``ok``), or failed."""

    def reports_ended(self, result: str, count: int = 1) -> None:
        """``count`` reports were ``delivered``, ``retried`` (scheduled again) or
        ``abandoned``."""


def _host(url: str) -> str:
    # Callback URLs may carry a token in the path, query or user info: log the host only.
    # A URL that does not even split (``http://[bad``) is "?": its refusal says why.
    try:
        return urlsplit(url).netloc.rpartition("@")[2] or "?"
    except ValueError:
        return "?"


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def scrub_urls(text: str, limit: int = ERROR_LIMIT) -> str:
    """``text`` with every URL cut to its scheme and host (no credentials, path or query),
    at most ``limit`` characters: fit for the outbox, the push attempts and the logs."""
    scrubbed = _URL.sub(lambda m: _origin(m.group()), text)
    return scrubbed if len(scrubbed) <= limit else scrubbed[: limit - 1] + "…"


def _origin(url: str) -> str:
    return f"{url.partition('://')[0]}://{_host(url)}"


class _Answer(NamedTuple):
    """One POST: when it started, how long it took, the HTTP status (0: none came) and
    why it did not acknowledge its reports (None: a 2xx did)."""

    at: float
    duration_s: float
    status: int
    error: str | None

    def attempt_of(self, item: OutboxItem) -> PushAttempt:
        """This POST as it concerned ``item``'s report (its ``attempts + 1``-th push)."""
        return PushAttempt(
            report_id=item.report_id,
            voiceid=item.report.voiceid,
            attempt=item.attempts + 1,
            at=self.at,
            http_status=self.status,
            error="" if self.status else (self.error or ""),
            duration_s=round(self.duration_s, 3),
        )


async def post_signed(
    client: aiohttp.ClientSession,
    url: str,
    body: bytes,
    apikey: str,
    *,
    at: float,
    limits: aiohttp.ClientTimeout,
) -> tuple[int, str | None]:
    """POST a JSON ``body`` signed with ``apikey`` at ``at`` (no redirects followed): the
    HTTP status (0: none came) and why it is no acknowledgement (None: a 2xx; URLs in it
    scrubbed to their host)."""
    headers = signature_headers(body, int(at), apikey)
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = f"voiceotp/{__version__}"
    status, error = 0, None
    try:
        async with client.post(
            url, data=body, headers=headers, allow_redirects=False, timeout=limits
        ) as response:
            await response.read()
            status = response.status
            error = None if 200 <= status < 300 else f"HTTP {status}"
    except aiohttp.ClientConnectorError as exc:
        blocked = isinstance(exc.os_error, BlockedAddress)
        error = str(exc.os_error) if blocked else f"{type(exc).__name__}: {exc}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return status, None if error is None else scrub_urls(error)


class Notifier:
    """Delivers the outbox; call :meth:`deliver_due` yourself or :meth:`run` it."""

    def __init__(
        self,
        outbox: Outbox,
        keys: KeyLookup,
        *,
        schedule: PushSchedule | None = None,
        batch_size: int = 100,
        timeout_s: float = 10.0,
        max_parallel: int = 10,
        poll_s: float = 1.0,
        session: aiohttp.ClientSession | None = None,
        guard: CallbackGuard | None = None,
        stats: PushStats | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.outbox, self.keys = outbox, keys
        self.schedule = schedule or PushSchedule()
        self.batch_size, self.poll_s = batch_size, poll_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(5.0, timeout_s))
        self._session, self._owns_session = session, session is None
        self.guard = guard if guard is not None else CallbackGuard()
        self._parallel = asyncio.Semaphore(max_parallel)
        self._clock, self._sleep, self._rand = clock, sleep, rand
        self._stopping = asyncio.Event()
        self.stats = stats

    async def deliver_due(self) -> int:
        """Push every report due now (one POST per account and URL); how many were acked."""
        items = await self.outbox.due(self._clock(), self.batch_size)
        groups: defaultdict[tuple[str, str], list[OutboxItem]] = defaultdict(list)
        for item in items:
            groups[(item.account, item.callback_url)].append(item)
        done = await asyncio.gather(*(self._deliver(a, u, g) for (a, u), g in groups.items()))
        return sum(done)

    async def _deliver(self, account: str, url: str, items: Sequence[OutboxItem]) -> int:
        apikey = await self.keys(account)
        refusal = "no callback URL" if not url else self.guard.refusal(url)
        if apikey is None or refusal is not None:
            reason = refusal or "the account is gone"
            log.warning("reports for %s not pushed to %s: %s", account, _host(url), reason)
            for item in items:
                await self.outbox.give_up(item.report_id, reason)
            self._count("abandoned", len(items))
            return 0
        body = encode_reports([item.report for item in items])
        async with self._parallel:
            answer = await self._post(url, body, apikey)
        if self.stats is not None:
            self.stats.posted(answer.error is None)
        if answer.error is None:
            await self.outbox.mark_delivered([i.report_id for i in items], self._clock())
            self._count("delivered", len(items))
        else:
            log.info("push of %d reports to %s failed: %s", len(items), _host(url), answer.error)
            for item in items:
                await self._retry_or_give_up(item, answer.error)
        # Settled first: a record that fails loses the record, never causes a second push.
        await self.outbox.record_push_attempts([answer.attempt_of(item) for item in items])
        return len(items) if answer.error is None else 0

    async def _post(self, url: str, body: bytes, apikey: str) -> _Answer:
        """How the receiver answered ``body`` (``error`` None: a 2xx acknowledged it)."""
        at, started = self._clock(), time.perf_counter()
        status, error = await post_signed(
            self._client(), url, body, apikey, at=at, limits=self._timeout
        )
        return _Answer(at, time.perf_counter() - started, status, error)

    async def _retry_or_give_up(self, item: OutboxItem, error: str) -> None:
        next_at = next_push_at(
            created_at=item.created_at,
            attempt=item.attempts + 1,
            now=self._clock(),
            schedule=self.schedule,
            rand=self._rand(),
        )
        if next_at is None:
            log.warning("push of report %s abandoned after 24 h: %s", item.report_id, error)
            await self.outbox.give_up(item.report_id, f"gave up after {item.attempts + 1}: {error}")
            self._count("abandoned")
        else:
            await self.outbox.mark_retry(item.report_id, next_at, error)
            self._count("retried")

    def _count(self, result: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.reports_ended(result, count)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = guarded_session(self.guard)
        return self._session

    async def run(self) -> None:
        """Deliver until :meth:`stop`; outbox errors are logged and retried."""
        while not self._stopping.is_set():
            try:
                delivered = await self.deliver_due()
            except Exception:
                log.exception("notifier: reading the outbox failed")
                delivered = 0
            if not delivered:
                await self._sleep(self.poll_s)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current round."""
        self._stopping.set()

    async def aclose(self) -> None:
        """Close the HTTP session if the notifier created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None
