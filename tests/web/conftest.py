"""The console in-process (ASGI) on either store, with an admin and a support operator."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx2
import pytest
from starlette.applications import Starlette

from tests.stores import pg_url, settings, sqlite_template, store
from voiceotp.gateway import Settings, create_app
from voiceotp.gateway.submit.service import Gateway
from voiceotp.store import Store
from voiceotp.store.web import create_web_user
from voiceotp.web.console import console_routes
from voiceotp.web.passwords import hash_password

__all__ = ["pg_url", "settings", "sqlite_template", "store"]

PASSWORD = "correct horse battery"
CSRF_META = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    app: Starlette

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    def client(self) -> httpx2.AsyncClient:
        transport = httpx2.ASGITransport(app=self.app, client=("127.0.0.1", 40000))
        return httpx2.AsyncClient(transport=transport, base_url="http://gw")

    async def signed_in(self, login: str) -> tuple[httpx2.AsyncClient, str]:
        """A client signed in as ``login`` and its session's CSRF token."""
        client = self.client()
        form = await client.get("/console/signin")
        pre = CSRF_META.search(form.text)
        assert pre is not None
        answer = await client.post(
            "/console/signin",
            data={"csrf_token": pre.group(1), "login": login, "password": PASSWORD},
        )
        assert answer.status_code == 303, answer.text
        page = await client.get("/console/accounts")
        token = CSRF_META.search(page.text)
        assert token is not None
        return client, token.group(1)


@pytest.fixture
async def console(settings: Settings, store: Store) -> AsyncIterator[Console]:
    app = create_app(settings, store=store, migrate=False, extra_routes=console_routes())
    async with app.router.lifespan_context(app):
        gateway: Gateway = app.state.gateway
        encoded = hash_password(PASSWORD)
        for login, role in (("alice", "admin"), ("sam", "support")):
            await create_web_user(
                store, kind="operator", login=login, password_hash=encoded, role=role,
                now=time.time(),
            )  # fmt: skip
        await gateway.admin.create_account(name="V10000001", balance=5)
        yield Console(app)
