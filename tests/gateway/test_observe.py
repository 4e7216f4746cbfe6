"""/metrics, /healthz and the access log (numbers masked, no secrets)."""

from __future__ import annotations

import io
import logging

import pytest

from tests.gateway.harness import FIXTURE, VOICE, running
from voiceotp.gateway.observe import BufferedStreamHandler, clean, flush_access_log
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store

NOW = float(FIXTURE["now"])
KEY1 = "0123456789abcdef0123456789abcdef"


async def test_metrics_count_requests_holds_and_batches(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        await harness.submit(
            account="V10000001", password=KEY1, mobile="13800138000", content="1125"
        )
        await harness.submit(
            account="V10000001", password="x", mobile="13800138000", content="1125"
        )
        text = (await harness.client().get("/metrics")).text
    assert 'voiceotp_requests_total{code="2",method="Submit"} 1.0' in text
    assert 'voiceotp_requests_total{code="405",method="Submit"} 1.0' in text
    assert "voiceotp_balance_holds_total 1.0" in text
    assert 'voiceotp_request_seconds_count{method="Submit"} 2.0' in text
    assert "voiceotp_commit_batch_size_count 1.0" in text


async def test_healthz(store: Store, settings: Settings) -> None:
    async with running(store, settings, now=NOW) as harness:
        response = await harness.client().get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


async def test_access_log_masks_numbers_and_hides_keys(
    store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voiceotp.access")
    async with running(store, settings, now=NOW) as harness:
        await harness.submit(
            account="V10000001", password=KEY1, mobile="13800138000", content="1125"
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "voiceotp.access"]
    assert len(lines) == 1
    assert "mobile=138****8000" in lines[0]
    assert "code=2" in lines[0]
    assert "13800138000" not in caplog.text
    assert KEY1 not in caplog.text
    assert "1125" not in lines[0]  # the code itself is a secret too


async def test_access_log_escapes_what_the_request_controls(
    store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voiceotp.access")
    async with running(store, settings, now=NOW) as harness:
        await harness.client().get(VOICE + "?method=GetNum&account=X%0aFAKE+L%00%1b")
        await harness.submit(account="V10000001", password="x", mobile="13800138000\n")
    lines = [r.getMessage() for r in caplog.records if r.name == "voiceotp.access"]
    assert len(lines) == 2
    for line in lines:
        assert line.isprintable()  # no newline, NUL, ESC...: one line, no terminal tricks
    assert "account=X\\nF…(10) mobile=" in lines[0]  # one field, visible, cut short
    assert "mobile=138****000\\n code=" in lines[1]


async def test_an_apikey_sent_as_the_account_is_not_logged(
    store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voiceotp.access")
    async with running(store, settings, now=NOW) as harness:
        await harness.client().get(VOICE + f"?method=GetNum&account={KEY1}&password={KEY1}")
        await harness.client().get(VOICE + "?method=GetNum&account=V10000001&password=x")
    lines = [r.getMessage() for r in caplog.records if r.name == "voiceotp.access"]
    assert len(lines) == 2
    assert KEY1[:4] not in lines[0]
    assert f"account={KEY1[:3]}…(32) " in lines[0]
    assert "account=V10000001 " in lines[1]


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        ("V10000001", "V10000001"),
        ("a b", "a\\x20b"),
        ("a\\b", "a\\\\b"),  # so an escape in the log is always ours
        ("\r\n\t\x7f\u2028", "\\r\\n\\t\\x7f\\u2028"),
        ("用户", "用户"),
    ],
)
def test_clean_escapes_control_characters_spaces_and_backslashes(raw: str, logged: str) -> None:
    assert clean(raw) == logged


class CountingStream(io.StringIO):
    """A text stream that counts flushes (each one is a write(2) on a real stderr)."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_buffered_access_log_flushes_in_bulk_and_on_demand() -> None:
    stream = CountingStream()
    handler = BufferedStreamHandler(stream, interval_s=3600)  # its thread stays asleep
    logger = logging.getLogger("voiceotp.access")
    logger.addHandler(handler)
    try:
        for i in range(100):
            logger.warning("line %d", i)
        assert stream.flushes == 0  # not one per record
        flush_access_log()  # what the app's shutdown does
        assert stream.flushes == 1
        assert stream.getvalue().splitlines() == [f"line {i}" for i in range(100)]
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_a_closed_buffered_handler_still_writes_each_line() -> None:
    # logging.config.dictConfig (uvicorn's set-up) closes every handler but leaves it on
    # its logger: lines must not then wait in the buffer until exit.
    stream = CountingStream()
    handler = BufferedStreamHandler(stream, interval_s=3600)
    logger = logging.getLogger("voiceotp.access")
    logger.addHandler(handler)
    try:
        handler.close()
        flushes = stream.flushes
        logger.warning("after close")
        assert stream.flushes == flushes + 1
        assert stream.getvalue() == "after close\n"
    finally:
        logger.removeHandler(handler)
