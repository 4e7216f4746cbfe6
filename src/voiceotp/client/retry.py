"""When to send a request again, and how long to wait first.

A Submit rings a phone, so the rules are narrow (docs/retries.md):

- the connection failed before the request left (ConnectError): retry;
- the service answered 0 or 4090 (nothing was accepted): retry after a backoff;
- the request may have left but no answer came (UnknownOutcome) or the answer was not
  an ihuyi document (ProtocolError): do NOT retry a Submit, unless the server dedupes
  exact dynamic-password replays (our gateway) — then replay it byte for byte. Read-only
  methods (GetNum, Query) are always safe to repeat.

Each rule logs its reason on the ``voiceotp.client`` logger.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field

from voiceotp.errors import ConnectError, UnknownOutcome
from voiceotp.protocol import ProtocolError, Result
from voiceotp.protocol.errors import VoiceOTPError

log = logging.getLogger("voiceotp.client")

TRANSIENT_CODES = frozenset({0, 4090})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry.

    ``max_attempts`` counts HTTP requests (1 = never retry). ``budget_s`` caps the total
    time spent sleeping between attempts. The delay before attempt n+1 is
    ``min(backoff_max_s, backoff_base_s * 2**(n-1))``, minus up to ``jitter`` of itself.
    """

    max_attempts: int = 3
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    jitter: float = 0.25
    budget_s: float = 20.0
    retry_codes: frozenset[int] = field(default=TRANSIENT_CODES)

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes exactly one attempt."""
        return cls(max_attempts=1)


def compute_backoff(attempt: int, policy: RetryPolicy, rand: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based); pure given ``rand``."""
    base = min(policy.backoff_max_s, policy.backoff_base_s * float(2 ** (attempt - 1)))
    fraction = random.random() if rand is None else rand
    return max(0.0, base * (1 - policy.jitter * fraction))


Outcome = Result | VoiceOTPError


@dataclass(frozen=True, slots=True)
class Decision:
    retry: bool
    reason: str
    delay_s: float = 0.0


def should_retry(
    outcome: Outcome,
    *,
    attempt: int,
    slept_s: float,
    policy: RetryPolicy,
    idempotent: bool,
    server_dedupes: bool,
    rand: float | None = None,
) -> Decision:
    """Decide whether to send again after ``attempt`` ended with ``outcome``; logs why."""
    decision = _rule(outcome, idempotent=idempotent, server_dedupes=server_dedupes, policy=policy)
    if decision.retry and attempt >= policy.max_attempts:
        decision = Decision(False, f"{decision.reason}, but {attempt} attempts used")
    if decision.retry:
        delay = compute_backoff(attempt, policy, rand)
        if slept_s + delay > policy.budget_s:
            decision = Decision(False, f"{decision.reason}, but the retry budget is spent")
        else:
            decision = Decision(True, decision.reason, delay)
    log.log(
        logging.INFO if decision.retry else logging.DEBUG,
        "%s after attempt %d: %s",
        "retrying" if decision.retry else "not retrying",
        attempt,
        decision.reason,
    )
    return decision


def _rule(
    outcome: Outcome, *, idempotent: bool, server_dedupes: bool, policy: RetryPolicy
) -> Decision:
    if isinstance(outcome, ConnectError):
        return Decision(True, "connection failed before the request was sent")
    if isinstance(outcome, UnknownOutcome | ProtocolError):
        what = "no answer" if isinstance(outcome, UnknownOutcome) else "an unreadable answer"
        if idempotent:
            return Decision(True, f"{what} to a read-only request")
        if server_dedupes:
            return Decision(True, f"{what}; the server dedupes, replaying exactly")
        return Decision(False, f"{what}; the request may have been accepted, never re-sent")
    if isinstance(outcome, VoiceOTPError):
        return Decision(False, f"{type(outcome).__name__} is not retryable")
    if outcome.code in policy.retry_codes:
        return Decision(True, f"code {outcome.code}: nothing was accepted")
    return Decision(False, "success" if outcome.code == 2 else f"code {outcome.code} is final")
