"""The dialer interface and the one outcome table (SIP code <-> Q.850 cause <-> status).

Every dialer — simulated carrier, SIP trunk, upstream relay — takes a :class:`CallRequest`
and returns a :class:`CallOutcome`. The status vocabulary and its mapping to SIP final
responses and Q.850 causes live only here (protocol README §7); the SIP mapping follows
RFC 3398 §8.2.6.1 where it has an entry.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "CODECS",
    "OUTCOME_TABLE",
    "UNREACHABLE",
    "CallOutcome",
    "CallRequest",
    "CallStatus",
    "Dialer",
    "MediaQuality",
    "OutcomeRow",
    "canonical_row",
    "outcome_for_sip",
]

#: G.711 codecs a call's audio may be rendered in: name -> RTP static payload type.
CODECS: Mapping[str, int] = {"PCMU": 0, "PCMA": 8}


class CallStatus(enum.StrEnum):
    """How one call attempt ended (protocol README §7)."""

    ANSWERED = "ANSWERED"
    BUSY = "BUSY"
    NO_ANSWER = "NO_ANSWER"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"
    #: Handed to an upstream provider that accepted it; its final status is not known to
    #: us (the upstream offers no Query, or did not finish within the poll budget).
    RELAYED = "RELAYED"
    #: A voice notification held for the account's quiet hours until its validity ran
    #: out: never dialed (docs/notices.md).
    QUIET_EXPIRED = "QUIET_EXPIRED"


@dataclass(frozen=True)
class OutcomeRow:
    """One line of the outcome table; ``canonical`` marks the row a status maps back to."""

    sip_code: int | None
    q850: int | None
    status: CallStatus
    canonical: bool = False


_S = CallStatus
#: The trunk never answered at all (no response within Timer B, unreachable network).
UNREACHABLE = OutcomeRow(None, 38, _S.FAILED)
#: The one table. 487 means *we* cancelled: at the ring timeout that is NO_ANSWER; the SIP
#: dialer overrides it with CANCELED when the dialer itself is shutting down.
OUTCOME_TABLE: tuple[OutcomeRow, ...] = (
    OutcomeRow(200, 16, _S.ANSWERED, canonical=True),
    OutcomeRow(486, 17, _S.BUSY, canonical=True),
    OutcomeRow(600, 17, _S.BUSY),
    OutcomeRow(487, 19, _S.NO_ANSWER, canonical=True),
    OutcomeRow(480, 18, _S.NO_ANSWER),
    OutcomeRow(408, 102, _S.NO_ANSWER),
    OutcomeRow(603, 21, _S.REJECTED, canonical=True),
    OutcomeRow(503, 41, _S.FAILED, canonical=True),
    OutcomeRow(404, 1, _S.FAILED),
    OutcomeRow(484, 28, _S.FAILED),
    OutcomeRow(500, 41, _S.FAILED),
    OutcomeRow(502, 38, _S.FAILED),
    OutcomeRow(504, 102, _S.FAILED),
    UNREACHABLE,
    OutcomeRow(None, None, _S.EXPIRED, canonical=True),
    OutcomeRow(487, 31, _S.CANCELED, canonical=True),
    OutcomeRow(None, None, _S.RELAYED, canonical=True),
    OutcomeRow(None, None, _S.QUIET_EXPIRED, canonical=True),
)
_BY_CODE: Mapping[int, OutcomeRow] = {
    row.sip_code: row
    for row in reversed(OUTCOME_TABLE)  # first row wins for a code listed twice
    if row.sip_code is not None
}
# Codes outside the table: any 2xx answered, everything else failed with the class's
# generic cause (Q.850 31 "normal, unspecified", 41 "temporary failure" for 5xx).
_FALLBACK_Q850 = {2: 16, 3: 31, 4: 31, 5: 41, 6: 31}


def outcome_for_sip(code: int) -> tuple[CallStatus, int]:
    """Status and Q.850 cause for a final SIP response code (>= 200)."""
    if code < 200 or code > 699:
        raise ValueError(f"not a final SIP response code: {code}")
    row = _BY_CODE.get(code)
    if row is not None:
        assert row.q850 is not None
        return row.status, row.q850
    status = CallStatus.ANSWERED if code < 300 else CallStatus.FAILED
    return status, _FALLBACK_Q850[code // 100]


def canonical_row(status: CallStatus) -> OutcomeRow:
    """The SIP code and Q.850 cause a status stands for (used by simulated carriers)."""
    for row in OUTCOME_TABLE:
        if row.status is status and row.canonical:
            return row
    raise LookupError(status)  # pragma: no cover - every status has a canonical row


@dataclass(frozen=True)
class CallRequest:
    """One call to place.

    ``audio`` maps a codec name of :data:`CODECS` to the G.711 payload (8 kHz, 160 bytes
    per 20 ms) the callee must hear. ``deadline`` is Unix time; past it the call is not
    dialed and ends :attr:`CallStatus.EXPIRED`. ``code`` is the verification code itself,
    for dialers that hand the code on instead of playing ``audio`` (the upstream relay).
    """

    call_id: str
    mobile: str
    audio: Mapping[str, bytes]
    ring_timeout_s: float = 30.0
    max_duration_s: float = 60.0
    deadline: float | None = None
    code: str | None = None


@dataclass(frozen=True)
class MediaQuality:
    """The RTP of an answered call (RFC 3550 statistics). ``received``/``lost``/
    ``jitter_ms``: the callee's RTP as it reached us (lost by extended sequence number,
    interarrival jitter); ``callee_*``: what the callee's RTCP reported about ours (None:
    it sent no report)."""

    received: int
    lost: int
    jitter_ms: float
    callee_lost: int | None = None
    callee_jitter_ms: float | None = None


@dataclass(frozen=True)
class CallOutcome:
    """How a call ended; times are Unix seconds, ``None`` when the step never happened.

    ``dialer`` names what placed the call, as the call record keeps it (``""``: not dialed,
    or not known). The worker fills in :attr:`Dialer.name`; a dialer sets it itself only
    when it knows better (the relay names the upstream that took the call).

    ``never_left`` is True only when it is proven that nobody was asked to place the call
    (every upstream of the relay refused it before accepting): such a call is refunded
    whatever the account's charge policy.

    ``media``: the RTP statistics of an answered call, when the dialer measured them.
    """

    status: CallStatus
    sip_code: int | None
    q850: int | None
    invite_at: float | None = None
    ring_at: float | None = None
    answer_at: float | None = None
    end_at: float | None = None
    duration_s: float = 0.0
    detail: str = ""
    dialer: str = ""
    never_left: bool = False
    media: MediaQuality | None = None


@runtime_checkable
class Dialer(Protocol):
    """Places calls. Implementations never raise for call failures: they return outcomes.

    ``isinstance(obj, Dialer)`` checks only that ``name`` and both methods exist; the
    dialer contract (tests/delivery/dialer/contract.py) checks how the worker calls them."""

    @property
    def name(self) -> str:
        """What the call records say placed a call: ``simulated``, ``sip:<trunk host>``,
        ``relay:<upstream names>``. No secrets (no credentials, no URLs)."""
        ...

    async def dial(self, call: CallRequest) -> CallOutcome:
        """Place ``call`` and wait until it has ended."""
        ...

    async def aclose(self) -> None:
        """End calls in flight (as CANCELED) and release sockets."""
        ...
