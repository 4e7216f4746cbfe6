"""Client and AsyncClient for the ihuyi voice API (and the voiceotp gateway).

Both share one I/O-free core (``voiceotp.client.base``); transports do the I/O and are
the test seam (``voiceotp.client.transports``, ``voiceotp.testing``).
"""

from voiceotp.client.aio import AsyncClient
from voiceotp.client.config import DEFAULT_BASE_URL, Settings, resolve_settings
from voiceotp.client.models import SendReport, Timeout
from voiceotp.client.retry import RetryPolicy, compute_backoff, should_retry
from voiceotp.client.sync import Client
from voiceotp.client.transports import (
    AiohttpTransport,
    ASGITransport,
    AsyncMemoryTransport,
    AsyncTransport,
    HTTPXTransport,
    MemoryReply,
    MemoryTransport,
    Transport,
)
from voiceotp.errors import (
    AccountError,
    AccountFrozen,
    APIError,
    AuthError,
    ConfigError,
    ConnectError,
    InsufficientBalance,
    InvalidCode,
    InvalidMobile,
    IPNotAllowed,
    NumberError,
    ProtocolError,
    RequestError,
    TransientError,
    TransportError,
    TrialRestricted,
    UnknownOutcome,
    VoiceOTPError,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "APIError",
    "ASGITransport",
    "AccountError",
    "AccountFrozen",
    "AiohttpTransport",
    "AsyncClient",
    "AsyncMemoryTransport",
    "AsyncTransport",
    "AuthError",
    "Client",
    "ConfigError",
    "ConnectError",
    "HTTPXTransport",
    "IPNotAllowed",
    "InsufficientBalance",
    "InvalidCode",
    "InvalidMobile",
    "MemoryReply",
    "MemoryTransport",
    "NumberError",
    "ProtocolError",
    "RequestError",
    "RetryPolicy",
    "SendReport",
    "Settings",
    "Timeout",
    "TransientError",
    "Transport",
    "TransportError",
    "TrialRestricted",
    "UnknownOutcome",
    "VoiceOTPError",
    "compute_backoff",
    "resolve_settings",
    "should_retry",
]
