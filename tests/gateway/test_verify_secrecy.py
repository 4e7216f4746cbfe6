"""The code never appears in clear: not in any answer, log line, or the database (the
SQLite file and its WAL, every PostgreSQL row) — only sealed for the dialer and as an HMAC."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg
import pytest

from tests.gateway.harness import FIXTURE, VOICE, Harness, running
from tests.gateway.verifykit import AUTH, spoken, wrong
from tests.stores import TABLES
from voiceotp.gateway.settings import Settings
from voiceotp.protocol import Code, Method, parse_result
from voiceotp.store import Store, is_postgres_url, sqlite_path

NOW = float(FIXTURE["now"])


async def stored_text(settings: Settings) -> bytes:
    """Everything the database holds: the SQLite file + WAL, or every row as text."""
    url = settings.effective_database_url
    if not is_postgres_url(url):
        path = sqlite_path(url)
        wal = Path(f"{path}-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    conn = await asyncpg.connect(url)
    try:
        chunks = []
        for table in (t.strip() for t in TABLES.split(",")):
            rows = await conn.fetch(f"SELECT t::text FROM {table} t")
            chunks += [str(r[0]).encode() for r in rows]
        return b"\n".join(chunks)
    finally:
        await conn.close()


async def call(harness: Harness, method: str, **form: str) -> bytes:
    response = await harness.client().post(VOICE, params={"method": method}, data=form)
    return response.content


async def test_code_never_in_clear(
    store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(store, settings, now=NOW) as harness:
        baseline = await stored_text(settings)
        answers: list[bytes] = []
        for i in range(5):  # a code that happens to be in the empty database says nothing
            mobile = f"1380013800{i}"
            answers.append(await call(harness, "Verify", **AUTH, mobile=mobile))
            voiceid = parse_result(answers[-1], Method.VERIFY).voiceid
            code = await spoken(harness, voiceid)
            if code.encode() not in baseline:
                break
        assert code.encode() not in await stored_text(settings)  # pending: sealed only
        answers.append(await call(harness, "Check", **AUTH, mobile=mobile, code=wrong(code)))
        answers.append(await call(harness, "Check", **AUTH, mobile=mobile, code=code))
        assert parse_result(answers[-1], Method.CHECK).code == Code.OK
        answers.append(await call(harness, "Query", **AUTH, voiceid=voiceid))
        answers.append(await call(harness, "Verify", **AUTH, mobile=mobile, format="json"))
        stored = await stored_text(settings)
    assert all(code.encode() not in answer for answer in answers)
    assert code.encode() not in stored
    assert mobile.encode() in stored  # the search does see what is stored in clear
    assert not [r for r in caplog.records if code in r.getMessage()]
