"""The console in-process (ASGI) on either store, with an admin and a support operator."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx2
import pytest
from starlette.applications import Starlette

from tests.clock import FakeClock
from tests.stores import pg_url, settings, sqlite_template, store
from voiceotp.gateway import Settings, create_app
from voiceotp.gateway.settings import NumberCaps
from voiceotp.gateway.submit.service import Gateway
from voiceotp.store import Store
from voiceotp.store.usercenter import open_trial_account
from voiceotp.store.web import create_web_user
from voiceotp.web.console import console_routes
from voiceotp.web.passwords import hash_password
from voiceotp.web.usercenter import user_center_routes

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


# ---- the user center: two customers on two trial accounts, and an operator (ucpages) ----
@dataclass(frozen=True)
class Customer:
    login: str  # the number it signed up with: its trial account may call it
    account: str
    apikey: str


CUSTOMER_A = Customer("13800000001", "V20000001", "a" * 32)
CUSTOMER_B = Customer("13900000002", "V20000002", "b" * 32)


@dataclass
class UserCenter(Console):
    clock: FakeClock

    async def customer(self, who: Customer) -> tuple[httpx2.AsyncClient, str]:
        """A client signed in to /user/ as ``who`` and its session's CSRF token."""
        client = self.client()
        form = await client.get("/user/signin")
        pre = CSRF_META.search(form.text)
        assert pre is not None
        answer = await client.post(
            "/user/signin",
            data={"csrf_token": pre.group(1), "login": who.login, "password": PASSWORD},
        )
        assert answer.status_code == 303, answer.text
        page = await client.get("/user/me")
        token = CSRF_META.search(page.text)
        assert token is not None
        return client, token.group(1)

    async def submit(self, account: str, apikey: str, mobile: str) -> dict[str, object]:
        """A Submit through the ihuyi endpoint, answered in JSON."""
        async with self.client() as client:
            answer = await client.post(
                "/webservice/voice.php",
                params={"method": "Submit", "format": "json"},
                data={"account": account, "password": apikey, "mobile": mobile,
                      "content": "1125"},
            )  # fmt: skip
        doc: dict[str, object] = answer.json()
        return doc


@pytest.fixture
async def user_center(settings: Settings, store: Store) -> AsyncIterator[UserCenter]:
    """Console and user center in one app on a fake clock; push receivers on 127.0.0.1 are
    allowed through ``push_allow_networks`` (not development mode's loopback)."""
    clock = FakeClock(time.time())
    settings = dataclasses.replace(
        settings,
        dev_mode=False,
        caps=NumberCaps(0, 0, 0),
        delivery=dataclasses.replace(settings.delivery, push_allow_networks=("127.0.0.1/32",)),
    )
    routes = [*console_routes(), *user_center_routes()]
    app = create_app(settings, store=store, clock=clock, migrate=False, extra_routes=routes)
    async with app.router.lifespan_context(app):
        gateway: Gateway = app.state.gateway
        encoded = hash_password(PASSWORD)
        await create_web_user(
            store, kind="operator", login="olga", password_hash=encoded, role="admin",
            now=time.time(),
        )  # fmt: skip
        for who in (CUSTOMER_A, CUSTOMER_B):
            await open_trial_account(
                store, name=who.account, apikey_enc=gateway.keybox.seal(who.apikey),
                mobile=who.login, free_calls=10, login=who.login, password_hash=encoded,
                now=clock(),
            )  # fmt: skip
        await gateway.directory.refresh_if_changed()
        yield UserCenter(app, clock)
