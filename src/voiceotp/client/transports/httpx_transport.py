"""The blocking HTTP transport, on httpx2 (a maintained httpx fork).

httpx bounds each phase (connect, write, read, pool wait); there is no overall deadline,
so ``Timeout.total`` caps the write phase and the read phase each (docs/client.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from voiceotp.client.models import Timeout
from voiceotp.client.transports.base import (
    FORM_CONTENT_TYPE,
    Transport,
    answer_body,
    display_url,
    encode_form,
)
from voiceotp.errors import ConnectError, UnknownOutcome

# Raised before the request was written: safe to retry.
_NOT_SENT: tuple[type[BaseException], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.ProxyError,
    httpx2.UnsupportedProtocol,
    httpx2.LocalProtocolError,
    httpx2.InvalidURL,
)
_MAYBE_SENT: tuple[type[BaseException], ...] = (httpx2.TransportError,)
_HEADERS = {"Content-Type": FORM_CONTENT_TYPE}


def _phase(value: float | None, total: float | None) -> float | None:
    if value is None:
        return total
    return value if total is None else min(value, total)


class HTTPXTransport(Transport):
    """httpx2.Client with pooling; ``proxy``, ``verify``, ``cert``, ``limits`` and any
    other ``client_options`` go to ``httpx2.Client``."""

    def __init__(self, **client_options: Any) -> None:
        self._client = httpx2.Client(**client_options)
        self._timeouts: dict[Timeout, httpx2.Timeout] = {}

    def _httpx_timeout(self, timeout: Timeout) -> httpx2.Timeout:
        found = self._timeouts.get(timeout)
        if found is None:
            connect = _phase(timeout.connect, timeout.total)
            found = self._timeouts[timeout] = httpx2.Timeout(
                connect=connect,
                read=_phase(timeout.read, timeout.total),
                write=timeout.total,
                pool=connect,
            )
        return found

    def post(self, url: str, form: Mapping[str, str], timeout: Timeout) -> bytes:
        try:
            response = self._client.post(
                url,
                content=encode_form(form),
                headers=_HEADERS,
                timeout=self._httpx_timeout(timeout),
            )
        except _NOT_SENT as exc:
            raise ConnectError(f"could not connect to {display_url(url)}: {exc!r}") from exc
        except _MAYBE_SENT as exc:
            where = display_url(url)
            raise UnknownOutcome(f"no answer from {where} after sending: {exc!r}") from exc
        return answer_body(response.content, response.status_code)

    def close(self) -> None:
        self._client.close()
