"""Every exception voiceotp raises.

::

    VoiceOTPError
    ├── ConfigError               bad or missing configuration
    ├── InvalidMobile             refused locally, before any billable request
    ├── InvalidCode               refused locally: not 4-6 ASCII digits
    ├── ProtocolError             the body is not an ihuyi document (carries an excerpt)
    ├── TransportError            the HTTP exchange failed
    │   ├── ConnectError          failed before the request was sent: safe to retry
    │   └── UnknownOutcome        failed after it may have been sent: it may have been
    │                             accepted; never retried blindly (see docs/retries.md)
    └── APIError                  the service answered a code other than 2
        ├── AccountError          account-level: a batch must stop
        │   ├── AuthError         401, 402, 405, 40501
        │   ├── AccountFrozen     4050, 408
        │   ├── InsufficientBalance  4051
        │   └── IPNotAllowed      400, 4052
        ├── NumberError           4030, 406, 4081, 4086, 4082
        ├── RequestError          403, 404, 407, 4070, 4100 and unknown codes
        └── TransientError        0, 4090: nothing was accepted, retry later
"""

from __future__ import annotations

from voiceotp.protocol.codes import Code, CodeClass, classify
from voiceotp.protocol.errors import ProtocolError, VoiceOTPError

__all__ = [
    "APIError",
    "AccountError",
    "AccountFrozen",
    "AuthError",
    "ConfigError",
    "ConnectError",
    "IPNotAllowed",
    "InsufficientBalance",
    "InvalidCode",
    "InvalidMobile",
    "NumberError",
    "ProtocolError",
    "RequestError",
    "TransientError",
    "TransportError",
    "UnknownOutcome",
    "VoiceOTPError",
    "error_for_code",
]


class ConfigError(VoiceOTPError):
    pass


class InvalidMobile(VoiceOTPError, ValueError):
    pass


class InvalidCode(VoiceOTPError, ValueError):
    pass


class TransportError(VoiceOTPError):
    pass


class ConnectError(TransportError):
    """The request never left: no call can have been placed."""


class UnknownOutcome(TransportError):
    """The request may have reached the service; whether a call was placed is unknown."""


class APIError(VoiceOTPError):
    """The service answered a code other than 2."""

    def __init__(self, code: int, msg: str, voiceid: str | None = None) -> None:
        self.code = code
        self.msg = msg
        self.voiceid = voiceid
        super().__init__(f"{code} {msg}")


class AccountError(APIError):
    pass


class AuthError(AccountError):
    pass


class AccountFrozen(AccountError):
    pass


class InsufficientBalance(AccountError):
    pass


class IPNotAllowed(AccountError):
    pass


class NumberError(APIError):
    pass


class RequestError(APIError):
    pass


class TransientError(APIError):
    pass


_BY_CODE: dict[int, type[APIError]] = {
    Code.ACCOUNT_EMPTY: AuthError,
    Code.PASSWORD_EMPTY: AuthError,
    Code.AUTH_FAILED: AuthError,
    Code.PASSWORD_EXPIRED: AuthError,
    Code.ACCOUNT_FROZEN: AccountFrozen,
    Code.ABUSE_FROZEN: AccountFrozen,
    Code.BALANCE_LOW: InsufficientBalance,
    Code.IP_DENIED: IPNotAllowed,
    Code.IP_NOT_ALLOWED: IPNotAllowed,
}
_BY_CLASS: dict[CodeClass, type[APIError]] = {
    CodeClass.ACCOUNT: AccountError,
    CodeClass.NUMBER: NumberError,
    CodeClass.REQUEST: RequestError,
    CodeClass.TRANSIENT: TransientError,
}


def error_for_code(code: int, msg: str, voiceid: str | None = None) -> APIError:
    """The exception for a non-success ``code``."""
    cls = _BY_CODE.get(code) or _BY_CLASS.get(classify(code), RequestError)
    return cls(code, msg, voiceid)
