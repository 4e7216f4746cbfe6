"""AsyncClient: the ihuyi voice API over asyncio (aiohttp by default)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from voiceotp.client.base import BaseClient, Prepared, api_error
from voiceotp.client.models import DEFAULT_TOTAL_S, SendReport, Timeout
from voiceotp.client.retry import Outcome, RetryPolicy
from voiceotp.client.transports.aiohttp_transport import AiohttpTransport
from voiceotp.client.transports.base import AsyncTransport
from voiceotp.errors import InvalidCode, InvalidMobile, TransportError
from voiceotp.protocol import (
    CheckResult,
    Format,
    GetNumResult,
    QueryResult,
    SubmitResult,
    VerifyResult,
)


class AsyncClient(BaseClient):
    """Send voice verification codes asynchronously.

    ::

        async with AsyncClient("V12345678", "apikey...") as client:
            result = await client.send("+86 138-0013-8000", "1234")
            print(result.voiceid)

    ``submit`` never raises for the service's or the network's answers (it returns a
    SendReport); ``send`` raises typed exceptions from ``voiceotp.errors``.
    ``http_options`` go to AiohttpTransport (``limit``, ``proxy``, ``ssl``, ...).
    ``sleep`` waits between retries (the test seam: a fake clock's sleep).
    ``notify_url``: where :meth:`notify` sends voice notifications (default: beside
    ``base_url``, see docs/notices.md).
    """

    def __init__(
        self,
        account: str | None = None,
        apikey: str | None = None,
        *,
        base_url: str | None = None,
        config_file: str | os.PathLike[str] | None = None,
        transport: AsyncTransport | None = None,
        timeout: float | Timeout | None = DEFAULT_TOTAL_S,
        retry: RetryPolicy | None = None,
        dynamic_password: bool = True,
        server_dedupes: bool = False,
        raise_on_error: bool = True,
        format: Format = Format.XML,
        notify_url: str | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        **http_options: Any,
    ) -> None:
        super().__init__(
            account,
            apikey,
            base_url=base_url,
            config_file=config_file,
            timeout=timeout,
            retry=retry,
            dynamic_password=dynamic_password,
            server_dedupes=server_dedupes,
            raise_on_error=raise_on_error,
            format=format,
            notify_url=notify_url,
        )
        if transport is not None and http_options:
            raise TypeError("http_options apply to the default transport only")
        self.transport = transport if transport is not None else AiohttpTransport(**http_options)
        self._sleep = sleep

    async def _exchange(self, prepared: Prepared) -> tuple[Outcome, int]:
        attempt, slept = 0, 0.0
        post, url, form, timeout = self.transport.post, prepared.url, prepared.form, self.timeout
        while True:
            attempt += 1
            try:
                outcome: Outcome = self.read(prepared, await post(url, form, timeout))
            except TransportError as exc:
                outcome = exc
            decision = self._decide(prepared, outcome, attempt, slept)
            if not decision.retry:
                return outcome, attempt
            await self._sleep(decision.delay_s)
            slept += decision.delay_s

    async def submit(self, mobile: str, code: str, *, time: int | None = None) -> SendReport:
        """Submit one code; a SendReport whatever happens (refused locally: 0 attempts)."""
        try:
            prepared = self._prepare_submit(mobile, code, time)
        except (InvalidMobile, InvalidCode) as exc:
            return self._refused(mobile, exc)
        outcome, attempts = await self._exchange(prepared)
        return self._report(prepared, outcome, attempts)

    async def send(self, mobile: str, code: str, *, time: int | None = None) -> SubmitResult:
        """Submit one code; the SubmitResult, or a typed exception (see the class doc)."""
        prepared = self._prepare_submit(mobile, code, time)
        outcome, attempts = await self._exchange(prepared)
        return self._unwrap_submit(self._report(prepared, outcome, attempts))

    async def notify(
        self,
        mobile: str,
        content: str,
        *,
        template_id: int | str | None = None,
        time: int | None = None,
    ) -> SubmitResult:
        """Send a voice notification (语音通知) to a mobile or a landline.

        ``content`` is the notice's text, which must fill one of the account's approved
        templates; or, with ``template_id``, that template's values separated by ``|``.
        It goes to ``notify_url`` (by default beside ``base_url``: docs/notices.md).
        Retried like :meth:`send`: a lost answer raises UnknownOutcome, never re-sent
        unless ``server_dedupes``.
        """
        prepared = self._prepare_notify(mobile, content, template_id, time)
        outcome, attempts = await self._exchange(prepared)
        return self._unwrap_submit(self._report(prepared, outcome, attempts))

    async def submit_notice(
        self,
        mobile: str,
        content: str,
        *,
        template_id: int | str | None = None,
        time: int | None = None,
    ) -> SendReport:
        """:meth:`notify`, answered as a SendReport whatever happens (as :meth:`submit`
        is): what the notice batch sends with (refused locally: 0 attempts)."""
        try:
            prepared = self._prepare_notify(mobile, content, template_id, time)
        except InvalidMobile as exc:
            return self._refused(mobile, exc)
        outcome, attempts = await self._exchange(prepared)
        return self._report(prepared, outcome, attempts)

    async def verify(
        self,
        mobile: str,
        *,
        length: int | None = None,
        ttl: int | None = None,
        time: int | None = None,
    ) -> VerifyResult:
        """Have the gateway make up a code and call ``mobile`` (voiceotp extension).

        The answer holds the voiceid, never the code. A lost answer raises
        UnknownOutcome: the call may have been placed, so it is never sent again (unless
        ``server_dedupes``: then it is replayed exactly, and the gateway dedupes it).
        """
        prepared = self._prepare_verify(mobile, length, ttl, time)
        outcome, _ = await self._exchange(prepared)
        return self._unwrap(outcome, VerifyResult)

    async def check(self, mobile: str, code: str, *, voiceid: str | None = None) -> CheckResult:
        """Is ``code`` the one last spoken to ``mobile`` (or in call ``voiceid``)?

        Code 2 consumes the code. Otherwise raises WrongCode, CodeExpired, AttemptsUsedUp,
        NoPendingCode or CheckThrottled (all CheckFailed but the last), unless
        ``raise_on_error=False``. Never retried after the request may have left: a
        repeat would spend an attempt, or find a code the first one consumed.
        """
        prepared = self._prepare_check(mobile, code, voiceid)
        outcome, _ = await self._exchange(prepared)
        return self._unwrap(outcome, CheckResult)

    async def get_num(self) -> GetNumResult:
        """The GetNum result (raises on failure unless ``raise_on_error=False``)."""
        outcome, _ = await self._exchange(self._prepare_getnum())
        return self._unwrap(outcome, GetNumResult)

    async def balance(self) -> int:
        """Remaining number of calls the account can place; raises on any failure."""
        result = await self.get_num()
        if not result.ok:
            raise api_error(result)
        return result.num

    async def query(self, voiceid: str) -> QueryResult:
        """Status of one call (voiceotp gateway extension ``method=Query``)."""
        outcome, _ = await self._exchange(self._prepare_query(voiceid))
        return self._unwrap(outcome, QueryResult)

    async def aclose(self) -> None:
        """Close the transport's connections."""
        await self.transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
