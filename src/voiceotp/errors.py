"""Every exception voiceotp raises (the CLI's click usage errors aside).

::

    VoiceOTPError
    ├── ConfigError               bad or missing configuration
    │   ├── SettingsError         gateway settings that cannot run a server (ValueError)
    │   ├── EspeakNotFound        espeak-ng is needed for the default prompts
    │   └── MissingClip           a recorded prompt folder lacks a clip
    ├── InvalidMobile             refused locally, before any billable request
    ├── InvalidCode               refused locally: not 4-6 ASCII digits
    ├── TemplateSyntaxError       a notification template's text breaks the syntax (ValueError)
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
        │   ├── IPNotAllowed      400, 4052
        │   └── TrialRestricted   4053: a trial account called a number it did not prove
        ├── NumberError           4030, 406, 4081, 4086, 4082
        │   └── PrefixThrottled   4506: the number's range converts too rarely (fraud guard)
        ├── RequestError          403, 404, 407, 4070-4073, 40722, 4507, 4508, 4100, unknown
        │   └── CheckFailed       Check: the code was not accepted
        │       ├── WrongCode     4500, 4501
        │       ├── CodeExpired   4502
        │       ├── AttemptsUsedUp  4503
        │       └── NoPendingCode   4504: never sent, already used, or superseded
        └── TransientError        0, 4090: nothing was accepted, retry later
            └── CheckThrottled    4505: too many wrong codes lately

    Batch sender (client/batch):
    ├── InputError                the input as a whole cannot be read (ValueError)
    └── JournalError              the journal is missing, foreign, or in the wrong state
    Gateway and store:
    ├── StoreError                a store operation was refused
    │   └── StoreUnavailable      the database cannot be reached or opened
    ├── AdminError                an operator asked for something invalid (ValueError)
    │   ├── NotFound              no such account
    │   └── KeyInGrace            a rotation with a grace while an older key is in its grace
    ├── BodyTooLarge              a request body over the configured limit
    └── UnreadableXml             a SOAP body that is not XML we accept (ValueError)
    Web faces (console, user center):
    └── WebInputError             a form value refused (ValueError); the message says why
    Delivery:
    ├── AudioError                audio that cannot be read, converted or rendered
    ├── SipParseError             a datagram that is not SIP we can read (ValueError)
    ├── DigestError               a SIP challenge we cannot answer (ValueError)
    └── BlockedAddress            a callback host resolves only to refused addresses
                                  (OSError, as aiohttp's resolver expects)
"""

from __future__ import annotations

from voiceotp.protocol.codes import Code, CodeClass, classify
from voiceotp.protocol.errors import ProtocolError, TemplateSyntaxError, VoiceOTPError

__all__ = [
    "APIError",
    "AccountError",
    "AccountFrozen",
    "AdminError",
    "AttemptsUsedUp",
    "AudioError",
    "AuthError",
    "BlockedAddress",
    "BodyTooLarge",
    "CheckFailed",
    "CheckThrottled",
    "CodeExpired",
    "ConfigError",
    "ConnectError",
    "DigestError",
    "EspeakNotFound",
    "IPNotAllowed",
    "InputError",
    "InsufficientBalance",
    "InvalidCode",
    "InvalidMobile",
    "JournalError",
    "KeyInGrace",
    "MissingClip",
    "NoPendingCode",
    "NotFound",
    "NumberError",
    "PrefixThrottled",
    "ProtocolError",
    "RequestError",
    "SettingsError",
    "SipParseError",
    "StoreError",
    "StoreUnavailable",
    "TemplateSyntaxError",
    "TransientError",
    "TransportError",
    "TrialRestricted",
    "UnknownOutcome",
    "UnreadableXml",
    "VoiceOTPError",
    "WebInputError",
    "WrongCode",
    "error_for_code",
]


class ConfigError(VoiceOTPError):
    pass


class SettingsError(ConfigError, ValueError):
    """The settings cannot run a gateway; the message says which value and why."""


class EspeakNotFound(ConfigError):
    """espeak-ng is needed to generate the default prompts but is not installed."""


class MissingClip(ConfigError):
    """A recorded prompt folder lacks a clip the prompt needs."""


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


class TrialRestricted(AccountError):
    """4053 (voiceotp extension): a trial account of the user center calls only the
    number(s) it proved at sign-up until its enterprise certification is approved."""


class NumberError(APIError):
    pass


class RequestError(APIError):
    pass


class TransientError(APIError):
    pass


class PrefixThrottled(NumberError):
    """The fraud guard throttles calls to this number's range (codes sent there are
    rarely checked: traffic pumping)."""


class CheckFailed(RequestError):
    """Check: the code was not accepted (the subclass says why)."""


class WrongCode(CheckFailed):
    pass


class CodeExpired(CheckFailed):
    pass


class AttemptsUsedUp(CheckFailed):
    """Too many wrong codes for this code: ask for a new one."""


class NoPendingCode(CheckFailed):
    """No code waits for this number: never sent, already used, or superseded."""


class CheckThrottled(TransientError):
    """Too many wrong codes for this number or account lately: wait, then retry."""


# ---- batch sender -------------------------------------------------------------------------
class InputError(VoiceOTPError, ValueError):
    """The input as a whole cannot be read (not one bad row: those become rejects)."""


class JournalError(VoiceOTPError):
    """The journal file is missing, foreign, or in a state that forbids the operation."""


# ---- gateway and store --------------------------------------------------------------------
class StoreError(VoiceOTPError):
    """A store operation was refused (unknown account, balance would go negative, ...)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened (missing database, server down, no file
    access); the message is the driver's own first line."""


class AdminError(VoiceOTPError, ValueError):
    """The operator asked for something invalid; the message says what."""


class NotFound(AdminError):
    """No such account."""


class KeyInGrace(AdminError):
    """An APIKEY rotation with a grace period while the previous key is still in its own:
    one previous key is kept, so it would stop at once (docs/user-center.md)."""


class BodyTooLarge(VoiceOTPError):
    """The body is larger than the configured limit."""


class UnreadableXml(VoiceOTPError, ValueError):
    """The body is not XML we accept; the message says why (it goes into SOAP Faults)."""


# ---- web faces --------------------------------------------------------------------------------
class WebInputError(VoiceOTPError, ValueError):
    """A value typed into a web form was refused; the message says why."""


# ---- delivery -----------------------------------------------------------------------------
class AudioError(VoiceOTPError):
    """Audio that cannot be read, converted or rendered."""


class SipParseError(VoiceOTPError, ValueError):
    """A datagram that is not a SIP message we can read (its text, which may hold a phone
    number, is never part of the error message)."""


class DigestError(VoiceOTPError, ValueError):
    """A challenge we cannot answer."""


class BlockedAddress(VoiceOTPError, OSError):
    """A callback host resolved only to addresses the guard refuses."""


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
    Code.TRIAL_NUMBER: TrialRestricted,
    Code.PREFIX_THROTTLED: PrefixThrottled,
    Code.CODE_EMPTY: WrongCode,
    Code.CODE_WRONG: WrongCode,
    Code.CODE_EXPIRED: CodeExpired,
    Code.ATTEMPTS_USED_UP: AttemptsUsedUp,
    Code.NO_PENDING_CODE: NoPendingCode,
    Code.CHECK_THROTTLED: CheckThrottled,
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
