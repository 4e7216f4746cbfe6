"""The transport interface: the only place the client does I/O, and its test seam.

A transport POSTs a form to a URL and returns the response body. It must say clearly
whether a failed request could have reached the server:

- raise ``voiceotp.errors.ConnectError`` when the request certainly never left
  (DNS, refused connection, connect timeout, no free pooled connection in time);
- raise ``voiceotp.errors.UnknownOutcome`` when it may have left (read timeout,
  connection dropped or reset after sending, total timeout while waiting for the answer).

The client's retry rules rest on that distinction (docs/retries.md). HTTP status codes
are not errors here: the ihuyi API answers application errors with HTTP 200, and any
other body is judged by the parser. An HTTP transport returns the body of a non-2xx
answer as a :class:`StatusBody`, so that a body the parser cannot read is reported with
its status (a wrong path: "HTTP 404 from ...").
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import TracebackType
from typing import Self
from urllib.parse import urlencode, urlsplit

from voiceotp.client.models import Timeout

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Characters urlencode leaves as they are; our fields (hex, digits, APIIDs) are made of them.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def encode_form(form: Mapping[str, str]) -> bytes:
    """``form`` as an application/x-www-form-urlencoded UTF-8 body (same bytes as urlencode).

    Joining directly when nothing needs quoting is 5x cheaper than urlencode, and
    every Submit takes this path (measured in bench/client.py).
    """
    safe = _UNRESERVED.fullmatch
    if all(safe(k) and safe(v) for k, v in form.items()):
        return "&".join([f"{k}={v}" for k, v in form.items()]).encode()
    return urlencode(form).encode()


class StatusBody(bytes):
    """The body of an answer whose HTTP status was not 2xx; reads like any other body."""

    status: int

    def __new__(cls, body: bytes, status: int) -> StatusBody:
        answer = super().__new__(cls, body)
        answer.status = status
        return answer


def answer_body(body: bytes, status: int) -> bytes:
    """``body`` as a transport returns it: with its status when that is not 2xx."""
    return body if 200 <= status < 300 else StatusBody(body, status)


def display_url(url: str) -> str:
    """``url`` for messages: scheme, host, port and path (no user:password, no query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Transport(ABC):
    """Blocking transport used by ``Client``."""

    @abstractmethod
    def post(self, url: str, form: Mapping[str, str], timeout: Timeout) -> bytes:
        """POST ``form`` to ``url``; the response body, or ConnectError / UnknownOutcome."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncTransport(ABC):
    """Asynchronous transport used by ``AsyncClient``."""

    @abstractmethod
    async def post(self, url: str, form: Mapping[str, str], timeout: Timeout) -> bytes:
        """POST ``form`` to ``url``; the response body, or ConnectError / UnknownOutcome."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
