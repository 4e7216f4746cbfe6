"""The demo's callback endpoint: what a customer's server does with a status push.

It listens on 127.0.0.1 (a free port), checks each push's signature with the account's
APIKEY exactly as a receiver should (``voiceotp.delivery.notify.verify_signature``), and
keeps the reports by voiceid. A push with a bad signature is answered 401 and not kept.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from voiceotp.delivery.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

__all__ = ["PushReceiver"]


class PushReceiver:
    """Signed status reports received, by voiceid (the last one of each call)."""

    def __init__(self, apikey: str) -> None:
        self.apikey = apikey
        self.reports: dict[str, dict[str, Any]] = {}
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen on 127.0.0.1:<free port>; the callback URL."""
        app = web.Application()
        app.router.add_post("/voiceotp/status", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/voiceotp/status"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, voiceids: Iterable[str], deadline: float) -> None:
        """Until a report of every call arrived, or ``deadline`` (time.monotonic())."""
        wanted = set(voiceids)
        while not wanted <= set(self.reports) and time.monotonic() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - time.monotonic())
            except TimeoutError:
                return

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = request.headers
        if not verify_signature(
            body, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), self.apikey
        ):
            return web.Response(status=401, text="bad signature")
        for report in json.loads(body):
            self.reports[str(report["voiceid"])] = report
        self._arrived.set()
        return web.Response(text="ok")
