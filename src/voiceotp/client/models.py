"""Plain values the client hands out and takes in: timeouts and send reports."""

from __future__ import annotations

import math
from dataclasses import dataclass

from voiceotp.errors import APIError, ConnectError, InvalidCode, InvalidMobile
from voiceotp.protocol import SubmitResult
from voiceotp.protocol.errors import VoiceOTPError

DEFAULT_CONNECT_S = 5.0
DEFAULT_READ_S = 10.0
DEFAULT_TOTAL_S = 10.0


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds allowed for one HTTP request; None means no limit.

    ``connect`` bounds opening the connection (failing here is safe to retry: nothing
    was sent); ``read`` bounds the wait for the answer after the request left (failing
    here leaves the outcome unknown); ``total`` bounds the whole request.
    """

    connect: float | None = DEFAULT_CONNECT_S
    read: float | None = DEFAULT_READ_S
    total: float | None = DEFAULT_TOTAL_S

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            _check_seconds(getattr(self, name), f"timeout {name}")

    @classmethod
    def of(cls, value: float | Timeout | None) -> Timeout:
        """A Timeout from a number of seconds (total and read; connect at most 5 s).

        Raises ValueError unless ``value`` is None or a finite number above 0.
        """
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None)
        _check_seconds(value, "timeout")
        return cls(connect=min(DEFAULT_CONNECT_S, value), read=value, total=value)


def _check_seconds(value: object, name: str) -> None:
    # Caught here, when the client is built: later, a bad value would surface as a
    # transport error inside ``submit`` (which must not raise), or as no limit at all.
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds or None, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"{name} must be a finite number of seconds above 0 (None for no limit), got {value}"
        )


def outcome_unknown(result: object | None, error: BaseException | None) -> bool:
    """True when a Submit may have been accepted although no answer says so.

    That is every outcome but a service answer (any code), a ConnectError (the request
    never left) and a local refusal (never sent): a timeout after sending, a dropped
    connection, an unreadable answer (``ProtocolError``: a proxy's error page may stand
    in front of a service that acted), a sender that broke down. The one definition
    behind ``SendReport.outcome_unknown``, the CLI's exit code 6 and a batch row's
    ``unknown`` state.
    """
    if result is not None or isinstance(error, APIError):
        return False
    return not isinstance(error, ConnectError | InvalidMobile | InvalidCode)


@dataclass(frozen=True, slots=True)
class SendReport:
    """What happened to one Submit; ``AsyncClient.submit`` never raises, it returns this.

    ``error`` is None exactly when ``result`` is a success (code 2). ``time`` is the
    dynamic-password time that was sent, so the same request can be replayed exactly.
    """

    mobile: str
    result: SubmitResult | None
    error: VoiceOTPError | None
    attempts: int
    time: str | None

    @property
    def ok(self) -> bool:
        """True when the service accepted the request (code 2)."""
        return self.error is None

    @property
    def outcome_unknown(self) -> bool:
        """True when the request may have been accepted but no readable answer came back
        (see :func:`outcome_unknown`): do not simply re-send."""
        return outcome_unknown(self.result, self.error)

    @property
    def voiceid(self) -> str | None:
        """The voiceid of an accepted request, else None."""
        return self.result.voiceid if self.result is not None and self.error is None else None
