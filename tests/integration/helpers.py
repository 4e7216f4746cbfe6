"""Pieces the delivery integration tests share: prompt clips, a callback receiver, an
account on a fresh store."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.delivery.audio.helpers import pcm_wav, tone
from voiceotp.delivery.audio import CLIP_NAMES
from voiceotp.delivery.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from voiceotp.gateway.admin import Admin, NewKey
from voiceotp.gateway.settings import Settings
from voiceotp.store import make_store
from voiceotp.store.keys import KeyBox
from voiceotp.store.migrate import upgrade_async


def tone_clips(folder: Path) -> Path:
    """Recorded 'clips' (short distinct tones): prompts without espeak-ng."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(CLIP_NAMES):
        (folder / f"{name}.wav").write_bytes(pcm_wav(tone(300 + 40 * i, 8000, 0.05), 8000))
    return folder


async def new_account(settings: Settings, *, balance: int = 10, callback: str = "") -> NewKey:
    """Migrate the store and create an account (with a callback URL if given)."""
    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        admin = Admin(store, KeyBox(settings.secret_key), time.time)
        key = await admin.create_account(balance=balance)
        if callback:
            await admin.configure(key.account, callback_url=callback)
        return key
    finally:
        await store.close()


@dataclass
class Receiver:
    """A customer's callback endpoint: verifies signatures, fails the first ``failures``."""

    apikey: str
    failures: int = 2
    pushes: list[tuple[int, bool, list[dict[str, object]]]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        valid = verify_signature(
            body,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            self.apikey,
        )
        status = 500 if len(self.pushes) < self.failures else (204 if valid else 401)
        self.pushes.append((status, valid, json.loads(body)))
        return web.Response(status=status)

    @property
    def acknowledged(self) -> list[dict[str, object]]:
        return [r for status, _, reports in self.pushes if status == 204 for r in reports]


@contextlib.asynccontextmanager
async def run_receiver(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()
