"""voiceotp: voice verification codes (语音验证码) over the ihuyi voice API.

::

    from voiceotp import Client
    with Client() as client:                      # account/APIKEY from env or config file
        client.send("+86 138-0013-8000", "1234")

The client is imported on first use, so ``import voiceotp`` (and the
``voiceotp`` command's start-up) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

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

if TYPE_CHECKING:
    from voiceotp.client import AsyncClient, Client, RetryPolicy, SendReport, Timeout

_LAZY = {"AsyncClient", "Client", "RetryPolicy", "SendReport", "Timeout"}

__all__ = [
    "APIError",
    "AccountError",
    "AccountFrozen",
    "AsyncClient",
    "AuthError",
    "Client",
    "ConfigError",
    "ConnectError",
    "IPNotAllowed",
    "InsufficientBalance",
    "InvalidCode",
    "InvalidMobile",
    "NumberError",
    "ProtocolError",
    "RequestError",
    "RetryPolicy",
    "SendReport",
    "Timeout",
    "TransientError",
    "TransportError",
    "TrialRestricted",
    "UnknownOutcome",
    "VoiceOTPError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'voiceotp' has no attribute {name!r}")
    value = getattr(importlib.import_module("voiceotp.client"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
