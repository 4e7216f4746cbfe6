"""Build a gateway from the golden vectors' fixture, on either store, in-process."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from starlette.applications import Starlette

from voiceotp.gateway import Settings, create_app
from voiceotp.gateway.settings import NumberCaps
from voiceotp.gateway.submit.service import Gateway
from voiceotp.store import Store
from voiceotp.store.keys import KeyBox

VECTORS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "vectors.json").read_text(encoding="utf-8")
)
FIXTURE: dict[str, Any] = VECTORS["gateway_fixture"]
VOICE = "/webservice/voice.php"


def fixture_settings(tmp_path: Path, **overrides: Any) -> Settings:
    caps = FIXTURE["per_number_caps"]
    values: dict[str, Any] = {
        "dev_mode": True,
        "data_dir": tmp_path,
        "password_window_s": FIXTURE["dynamic_password_window_s"],
        "trusted_proxies": FIXTURE["trusted_proxies"],
        "caps": NumberCaps(caps["per_minute"], caps["per_hour"], caps["per_24h"]),
        "cache_ttl_s": 3600.0,
    }
    values.update(overrides)
    return Settings.from_mapping(values)


async def seed_fixture(store: Store, settings: Settings, fixture: Mapping[str, Any]) -> None:
    """Accounts and server policy of the vectors' ``gateway_fixture``."""
    keybox = KeyBox(settings.secret_key)
    now = float(fixture["now"])
    for spec in fixture["accounts"]:
        account = await store.create_account(
            name=spec["account"],
            apikey_enc=keybox.seal(spec["apikey"]),
            balance=spec["balance"],
            now=now,
        )
        await store.update_account(
            account.name,
            state=spec["state"],
            allow_ips=spec["allow_ips"],
            require_dynamic=spec.get("require_dynamic_password", False),
        )
        for mobile in spec.get("blacklist", []):
            await store.set_blacklisted(account.id, mobile, True)
    for ip in fixture["deny_ips"]:
        await store.set_policy_entry("deny_ip", ip, True)
    for mobile in fixture["global_blacklist"]:
        await store.set_policy_entry("blacklist", mobile, True)
    for word in fixture["sensitive_words"]:
        await store.set_policy_entry("sensitive_word", word, True)


@dataclass
class Harness:
    """A running app (lifespan entered) and clients per client IP."""

    app: Starlette
    store: Store
    clock_value: list[float]
    _clients: dict[str, httpx2.AsyncClient] = field(default_factory=dict)

    @property
    def gateway(self) -> Gateway:
        gw: Gateway = self.app.state.gateway
        return gw

    def client(self, ip: str = "127.0.0.1") -> httpx2.AsyncClient:
        if ip not in self._clients:
            transport = httpx2.ASGITransport(app=self.app, client=(ip, 40000))
            self._clients[ip] = httpx2.AsyncClient(transport=transport, base_url="http://gw")
        return self._clients[ip]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def submit(self, ip: str = "127.0.0.1", **form: str) -> httpx2.Response:
        return await self.client(ip).post(VOICE, params={"method": "Submit"}, data=form)


@contextlib.asynccontextmanager
async def running(
    store: Store, settings: Settings, *, now: float, seed: bool = True
) -> AsyncIterator[Harness]:
    """The app on ``store`` with the clock fixed at ``now`` (tests may move it)."""
    clock_value = [float(now)]
    if seed:
        await store.open()
        await seed_fixture(store, settings, FIXTURE)
        await store.close()
    app = create_app(settings, store=store, clock=lambda: clock_value[0], migrate=False)
    async with app.router.lifespan_context(app):
        harness = Harness(app, store, clock_value)
        try:
            yield harness
        finally:
            await harness.close()


@contextlib.contextmanager
def serving(app: Starlette, *, http: Any = "auto") -> Iterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1:<ephemeral> in a thread; yields the base URL.
    ``http``: uvicorn's protocol class (as ``voiceotp serve`` passes its own)."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        proxy_headers=False,
        http=http,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
