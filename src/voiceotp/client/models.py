"""Plain values the client hands out and takes in: timeouts and send reports."""

from __future__ import annotations

from dataclasses import dataclass

from voiceotp.errors import UnknownOutcome
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

    @classmethod
    def of(cls, value: float | Timeout | None) -> Timeout:
        """A Timeout from a number of seconds (total and read; connect at most 5 s)."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None)
        return cls(connect=min(DEFAULT_CONNECT_S, value), read=value, total=value)


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
        """True when the request may have been accepted but no answer came back."""
        return isinstance(self.error, UnknownOutcome)

    @property
    def voiceid(self) -> str | None:
        """The voiceid of an accepted request, else None."""
        return self.result.voiceid if self.result is not None and self.error is None else None
