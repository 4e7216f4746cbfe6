"""Outbox backends for the contract suite and the notifier: in memory, and SqlOutbox on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.delivery.queue.sqlstores import SQL_KINDS, open_store, sql_settings
from voiceotp.delivery.notify import MemoryOutbox, Outbox
from voiceotp.delivery.notify.sqloutbox import SqlOutbox
from voiceotp.gateway.settings import Settings


@pytest.fixture(params=["memory", *SQL_KINDS])
def outbox_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings | None:
    return None if request.param == "memory" else sql_settings(request, request.param, tmp_path)


@pytest.fixture
async def outbox(outbox_settings: Settings | None) -> AsyncIterator[Outbox]:
    if outbox_settings is None:
        yield MemoryOutbox()
        return
    async for store in open_store(outbox_settings):
        yield SqlOutbox(store)
