"""The async HTTP transport: one aiohttp ClientSession over a pooled TCPConnector.

The hot path is one ``session.post`` and one ``read``: the body is encoded once by us,
the Content-Type is a session default, and the aiohttp ClientTimeout for a given
Timeout is built once and cached.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp

from voiceotp.client.models import Timeout
from voiceotp.client.transports.base import (
    FORM_CONTENT_TYPE,
    AsyncTransport,
    answer_body,
    display_url,
    encode_form,
)
from voiceotp.errors import ConnectError, UnknownOutcome

# Raised before a single byte of the request was written: safe to retry.
_NOT_SENT: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,  # DNS, refused, TLS handshake, proxy connect
    aiohttp.ConnectionTimeoutError,  # connect timeout, incl. waiting for a pooled connection
    aiohttp.InvalidURL,
)
# Raised once the request may have left: the outcome is unknown.
_MAYBE_SENT: tuple[type[BaseException], ...] = (aiohttp.ClientError, asyncio.TimeoutError)


class AiohttpTransport(AsyncTransport):
    """aiohttp with connection pooling, proxies and TLS options passed through.

    ``limit`` caps open connections (aiohttp's TCPConnector ``limit``); ``ssl`` is an
    SSLContext, False to skip verification, or True; ``proxy``/``proxy_auth`` and any
    other ``session_options`` go to ``aiohttp.ClientSession``.
    """

    def __init__(
        self,
        *,
        limit: int = 100,
        limit_per_host: int = 0,
        keepalive_timeout: float = 15.0,
        ssl: ssl.SSLContext | bool = True,
        proxy: str | None = None,
        proxy_auth: aiohttp.BasicAuth | None = None,
        trust_env: bool = False,
        **session_options: Any,
    ) -> None:
        self._connector_options: dict[str, Any] = {
            "limit": limit,
            "limit_per_host": limit_per_host,
            "keepalive_timeout": keepalive_timeout,
            "ssl": ssl,
        }
        self._session_options: dict[str, Any] = {
            "proxy": proxy,
            "proxy_auth": proxy_auth,
            "trust_env": trust_env,
            **session_options,
        }
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use: a ClientSession belongs to the running event loop.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(**self._connector_options),
            headers={"Content-Type": FORM_CONTENT_TYPE},
            **self._session_options,
        )
        return self._session

    def _client_timeout(self, timeout: Timeout) -> aiohttp.ClientTimeout:
        found = self._timeouts.get(timeout)
        if found is None:
            read = timeout.read
            if read is not None and timeout.total is not None and read >= timeout.total:
                read = None  # the total deadline covers it; one timer less per request
            found = self._timeouts[timeout] = aiohttp.ClientTimeout(
                total=timeout.total, connect=timeout.connect, sock_read=read
            )
        return found

    async def post(self, url: str, form: Mapping[str, str], timeout: Timeout) -> bytes:
        session = self._session or self._open()
        try:
            async with session.post(
                url, data=encode_form(form), timeout=self._client_timeout(timeout)
            ) as response:
                return answer_body(await response.read(), response.status)
        except _NOT_SENT as exc:
            raise ConnectError(f"could not connect to {display_url(url)}: {exc}") from exc
        except _MAYBE_SENT as exc:
            where = display_url(url)
            raise UnknownOutcome(f"no answer from {where} after sending: {exc!r}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
