"""Serve a FakeIhuyi over real HTTP on 127.0.0.1 (aiohttp.web, ephemeral port).

``with fake.serve() as server:`` runs it on a background thread (for blocking tests and
for programs in any language); ``async with fake.serve() as server:`` runs it on the
current event loop. ``server.url`` is the endpoint to point a client at.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Self

from aiohttp import web

from voiceotp.protocol import CONTENT_TYPES, Format, body_kind, parse_urlencoded
from voiceotp.protocol.notice import is_notice_target
from voiceotp.protocol.request import FORM_URLENCODED, MULTIPART

if TYPE_CHECKING:
    from voiceotp.testing.fake import FakeIhuyi

PATH = "/webservice/voice.php"


class FakeServer:
    """An HTTP endpoint answering like ihuyi, backed by ``fake``."""

    def __init__(self, fake: FakeIhuyi, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake, self.host, self.port = fake, host, port
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint URL, e.g. ``http://127.0.0.1:40123/webservice/voice.php``."""
        return f"http://{self.host}:{self.port}{PATH}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        form: list[tuple[str, str]] = []
        kind = body_kind(request.headers.get("Content-Type"))
        if kind == FORM_URLENCODED:
            form = parse_urlencoded(await request.read())
        elif kind == MULTIPART:
            form = [(k, str(v)) for k, v in (await request.post()).items()]
        host = (request.host or "").split(":")[0]
        notice = is_notice_target(request.path, host)
        reply = self.fake.handle(parse_urlencoded(request.query_string), form, notice=notice)
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        if reply.dropped or request.transport is None:
            # "accepted but the response was lost": close the socket without answering.
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        fmt = Format.JSON if reply.body[:1] == b"{" else Format.XML
        return web.Response(body=reply.body, headers={"Content-Type": CONTENT_TYPES[fmt]})

    async def astart(self) -> Self:
        """Start on the running event loop."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A short shutdown: a test that scripted a long latency must not wait it out on exit.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> Self:
        """Start on a background thread with its own event loop."""
        loop = self._loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                started.set_exception(exc)
                loop.close()
                return
            started.set_result(None)
            loop.run_forever()
            loop.run_until_complete(self.astop())
            _cancel_leftovers(loop)  # handlers still sleeping out a scripted latency
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-ihuyi", daemon=True)
        self._thread.start()
        started.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.astop()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
