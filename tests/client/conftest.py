"""Fixtures for client tests: the fake endpoint and sync/async twins of each client."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.clock import FakeClock
from voiceotp.client import AsyncClient, AsyncMemoryTransport, Client, MemoryTransport, RetryPolicy
from voiceotp.client.transports.memory import Handler
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

# No sleeping between retries in tests; the backoff itself is unit-tested in test_retry.py.
FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base_s=0.0, jitter=0.0)


class Twin:
    """One interface over Client and AsyncClient: every call is awaited if it must be."""

    def __init__(self, client: Client | AsyncClient) -> None:
        self.client = client
        self.is_async = isinstance(client, AsyncClient)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            value = method(*args, **kwargs)
            return await value if inspect.isawaitable(value) else value

        return call

    async def close(self) -> None:
        if isinstance(self.client, AsyncClient):
            await self.client.aclose()
        else:
            self.client.close()


MakeTwin = Callable[..., Twin]


@pytest.fixture
def fake() -> FakeIhuyi:
    return FakeIhuyi()


@pytest.fixture(params=["sync", "async"])
async def make_twin(request: pytest.FixtureRequest, fake: FakeIhuyi) -> AsyncIterator[MakeTwin]:
    """``make_twin(**client_kwargs)``: a Client or AsyncClient (per the param) on ``fake``.

    Without ``base_url`` the client talks in memory to ``handler`` (default: ``fake``);
    with ``clock=FakeClock()`` it sleeps on that clock.
    """
    made: list[Twin] = []
    sync = request.param == "sync"

    def make(handler: Handler | None = None, clock: FakeClock | None = None, **kwargs: Any) -> Twin:
        kwargs.setdefault("retry", FAST_RETRY)
        if clock is not None:
            kwargs["sleep"] = clock.sleep_sync if sync else clock.sleep
        if "base_url" not in kwargs:
            handler = handler or fake.handle_post
            kwargs["transport"] = (
                MemoryTransport(handler) if sync else AsyncMemoryTransport(handler)
            )
        cls = Client if request.param == "sync" else AsyncClient
        twin = Twin(cls(DEFAULT_ACCOUNT, DEFAULT_APIKEY, **kwargs))
        made.append(twin)
        return twin

    yield make
    for twin in made:
        await twin.close()


@pytest.fixture
async def twin(make_twin: MakeTwin) -> Twin:
    return make_twin()
