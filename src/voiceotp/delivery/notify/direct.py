"""Pushes outside the outbox: one signed JSON object POSTed at once and never retried —
the user center's test push and the low-balance alert (docs/user-center.md). Signed like
status reports (signing.py) and only to addresses the same guard permits (guard.py).

Status reports are a JSON *array*; these are one *object* with a ``type`` (``test``,
``low_balance``), so a receiver tells them apart by the first byte.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.notify.guard import CallbackGuard, guarded_session
from voiceotp.delivery.notify.notifier import post_signed

__all__ = ["PushResult", "push_guard", "push_once"]

LOCAL_NETWORKS = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True, slots=True)
class PushResult:
    status: int  # the HTTP status; 0: none came
    error: str  # "" when a 2xx answered
    duration_s: float

    @property
    def ok(self) -> bool:
        return not self.error


def push_guard(conf: DeliverySettings, *, dev_mode: bool) -> CallbackGuard:
    """The guard of every push: public addresses, ``push_allow_networks``, and in
    development mode this machine (a local test receiver)."""
    return CallbackGuard((*conf.push_allow_networks, *(LOCAL_NETWORKS if dev_mode else ())))


async def push_once(
    url: str,
    doc: dict[str, Any],
    apikey: str,
    *,
    guard: CallbackGuard,
    now: float,
    timeout_s: float = 10.0,
) -> PushResult:
    """POST ``doc`` signed with ``apikey`` to ``url``, once; how it went."""
    started = time.perf_counter()
    refusal = "no callback URL" if not url else guard.refusal(url)
    if refusal is not None:
        return PushResult(0, refusal, 0.0)
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(5.0, timeout_s))
    async with guarded_session(guard) as session:
        status, error = await post_signed(session, url, body, apikey, at=now, limits=timeout)
    return PushResult(status, error or "", time.perf_counter() - started)
