"""Logs mask numbers and never carry the APIKEY or a password, on any path."""

from __future__ import annotations

import logging

import pytest

from tests.client.conftest import MakeTwin
from voiceotp.protocol import dynamic_password
from voiceotp.testing import DEFAULT_ACCOUNT, DEFAULT_APIKEY, FakeIhuyi

MOBILE = "13912345678"
T = 1_700_000_000


async def exercise(make_twin: MakeTwin, fake: FakeIhuyi, base_url: str | None = None) -> None:
    fake.window_s = 2**31  # accept the fixed, old dynamic-password time
    kwargs = {"base_url": base_url} if base_url else {}
    twin = make_twin(**kwargs)
    await twin.submit(MOBILE, "1234", time=T)  # accepted
    fake.script(MOBILE, 4090, 4030)
    await twin.submit(MOBILE, "1234", time=T)  # retried, then refused
    fake.lose_responses(MOBILE)
    await twin.submit(MOBILE, "1234", time=T)  # unknown outcome
    await twin.submit("+86 139-1234-567", "1234")  # invalid number, refused locally
    await twin.balance()


def secrets_in(text: str) -> list[str]:
    password = dynamic_password(
        DEFAULT_ACCOUNT, DEFAULT_APIKEY, str(T), mobile=MOBILE, content="1234"
    )
    return [s for s in (MOBILE, "1391234567", DEFAULT_APIKEY, password) if s in text]


async def test_memory_paths_log_masked(
    make_twin: MakeTwin, fake: FakeIhuyi, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await exercise(make_twin, fake)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "139****5678" in text
    assert "UnknownOutcome" in text
    assert "retrying after attempt 1: code 4090" in text
    assert secrets_in(text) == []


async def test_http_paths_log_masked_including_the_http_library(
    make_twin: MakeTwin, fake: FakeIhuyi, caplog: pytest.LogCaptureFixture
) -> None:
    with fake.serve() as server, caplog.at_level(logging.DEBUG):
        await exercise(make_twin, fake, server.url)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "139****5678" in text
    assert secrets_in(text) == []


async def test_attempts_are_counted_in_words_that_agree(
    make_twin: MakeTwin, fake: FakeIhuyi, caplog: pytest.LogCaptureFixture
) -> None:
    twin = make_twin()
    with caplog.at_level(logging.DEBUG, logger="voiceotp.client"):
        await twin.submit(MOBILE, "1234")
        fake.lose_responses(MOBILE)
        await twin.submit(MOBILE, "1234")
        fake.script(MOBILE, 4090, 4030)
        await twin.submit(MOBILE, "1234")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "(1 attempt)" in text
    assert "failed after 1 attempt: UnknownOutcome" in text
    assert "failed after 2 attempts: NumberError" in text
    assert "1 attempts" not in text
