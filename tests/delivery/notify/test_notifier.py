"""Notifier against a real aiohttp receiver on 127.0.0.1, on a fake clock."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from tests.delivery.queue.fakes import FakeClock
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CallbackGuard,
    MemoryOutbox,
    Notifier,
    Outbox,
    OutboxItem,
    StatusReport,
    verify_signature,
)
from voiceotp.delivery.notify.notifier import scrub_urls

KEYS = {"V1": "0123456789abcdef0123456789abcdef", "V2": "fedcba9876543210fedcba9876543210"}


@dataclass
class Receiver:
    """A customer's callback endpoint: checks signatures, fails the first ``failures``."""

    clock: FakeClock
    failures: int = 0
    status_when_failing: int = 500
    pushes: list[tuple[str, list[str], bool]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        account = request.match_info["account"]
        valid = verify_signature(
            body,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            KEYS[account],
            now=self.clock(),
        )
        ids = [r["report_id"] for r in json.loads(body)]
        self.pushes.append((account, ids, valid))
        if len(self.pushes) <= self.failures:
            return web.Response(status=self.status_when_failing)
        return web.Response(status=204 if valid else 401)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def receiver(clock: FakeClock) -> AsyncIterator[Receiver]:
    receiver = Receiver(clock)
    app = web.Application()
    app.router.add_post("/hook/{account}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield receiver
    await runner.cleanup()


def _item(voiceid: str, url: str, clock: FakeClock, account: str = "V1") -> OutboxItem:
    outcome = CallOutcome(CallStatus.ANSWERED, 200, 16, end_at=clock() - 5, duration_s=12)
    report = StatusReport.from_outcome(
        voiceid=voiceid, mobile="13800138000", outcome=outcome, submit_time=clock() - 30, attempts=1
    )
    return OutboxItem(report, account, f"{url}/{account}", created_at=clock())


async def _keys(account: str) -> str | None:
    return KEYS.get(account)


LOCAL = CallbackGuard(["127.0.0.0/8"])  # the receiver is on this machine


def _notifier(outbox: Outbox, clock: FakeClock, **options: object) -> Notifier:
    options.setdefault("guard", LOCAL)
    return Notifier(outbox, _keys, clock=clock, sleep=clock.sleep, rand=lambda: 0.0, **options)  # type: ignore[arg-type]


async def test_retries_until_the_receiver_accepts(receiver: Receiver, clock: FakeClock) -> None:
    receiver.failures = 2
    outbox = MemoryOutbox()
    await outbox.add(_item("1", receiver.url, clock))
    await outbox.add(_item("2", receiver.url, clock))
    notifier = _notifier(outbox, clock)
    assert await notifier.deliver_due() == 0
    assert await notifier.deliver_due() == 0  # not due again yet
    for expected_wait in (30.0, 60.0):
        retry_at = outbox.entries["1-1"].item.next_at
        assert retry_at == clock() + expected_wait
        clock.now = retry_at
        delivered = await notifier.deliver_due()
    await notifier.aclose()
    assert delivered == 2
    assert receiver.pushes == [("V1", ["1-1", "2-1"], True)] * 3  # same reports, signed each time
    assert outbox.state("1-1") == outbox.state("2-1") == "delivered"
    assert outbox.entries["1-1"].item.attempts == 3


async def test_every_push_is_recorded_per_report_with_its_http_status(
    outbox: Outbox, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.failures, receiver.status_when_failing = 2, 503
    await outbox.add(_item("11", receiver.url, clock))
    await outbox.add(_item("12", receiver.url, clock))
    notifier = _notifier(outbox, clock)
    starts = []
    for _ in range(3):
        starts.append(clock())
        await notifier.deliver_due()
        clock.advance(3600)  # past the next retry
    await notifier.aclose()
    assert [ids for _, ids, _ in receiver.pushes] == [["11-1", "12-1"]] * 3  # 3 POSTs of 2
    for voiceid in ("11", "12"):  # one row per report per POST
        attempts = await outbox.push_attempts(voiceid)
        assert [(a.report_id, a.attempt, a.at, a.http_status, a.error) for a in attempts] == [
            (f"{voiceid}-1", 1, starts[0], 503, ""),
            (f"{voiceid}-1", 2, starts[1], 503, ""),
            (f"{voiceid}-1", 3, starts[2], 204, ""),
        ]
        assert all(0 <= a.duration_s < 10 for a in attempts)


async def test_a_push_without_an_http_answer_records_why_but_no_secrets(
    outbox: Outbox, clock: FakeClock
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://hook:s3cret@127.0.0.1:{port}/hook/V1?token=t0ken"
    report = _item("21", "unused", clock).report
    await outbox.add(OutboxItem(report, "V1", url, created_at=clock(), next_at=clock()))
    notifier = _notifier(outbox, clock)
    await notifier.deliver_due()
    await notifier.aclose()
    [attempt] = await outbox.push_attempts("21")
    assert (attempt.report_id, attempt.attempt, attempt.http_status) == ("21-1", 1, 0)
    assert "ClientConnectorError" in attempt.error
    assert "s3cret" not in attempt.error
    assert "t0ken" not in attempt.error


def test_errors_keep_only_the_scheme_and_host_of_urls() -> None:
    text = "InvalidURL: http://user:pw@hooks.example:8443/p/a?t=secret refused"
    assert scrub_urls(text) == "InvalidURL: http://hooks.example:8443 refused"
    assert len(scrub_urls("x" * 500)) == 200


async def test_one_signed_push_per_account(receiver: Receiver, clock: FakeClock) -> None:
    outbox = MemoryOutbox()
    await outbox.add(_item("1", receiver.url, clock, "V1"))
    await outbox.add(_item("2", receiver.url, clock, "V2"))
    await outbox.add(_item("3", receiver.url, clock, "V1"))
    notifier = _notifier(outbox, clock)
    assert await notifier.deliver_due() == 3
    await notifier.aclose()
    assert sorted(receiver.pushes) == [("V1", ["1-1", "3-1"], True), ("V2", ["2-1"], True)]


@pytest.mark.parametrize("status", [302, 404, 503])
async def test_only_2xx_acknowledges(receiver: Receiver, clock: FakeClock, status: int) -> None:
    receiver.failures, receiver.status_when_failing = 1, status
    outbox = MemoryOutbox()
    await outbox.add(_item("1", receiver.url, clock))
    notifier = _notifier(outbox, clock)
    await notifier.deliver_due()
    await notifier.aclose()
    assert outbox.state("1-1") == "pending"
    assert outbox.entries["1-1"].note == f"HTTP {status}"


async def test_gives_up_after_24_hours(clock: FakeClock) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    outbox = MemoryOutbox()
    created = clock()
    await outbox.add(_item("1", url, clock))
    notifier = _notifier(outbox, clock)
    tries = 0
    while outbox.state("1-1") == "pending":
        clock.now = max(clock.now, outbox.entries["1-1"].item.next_at)
        await notifier.deliver_due()
        tries += 1
    await notifier.aclose()
    assert outbox.state("1-1") == "abandoned"
    assert "ClientConnectorError" in outbox.entries["1-1"].note
    assert clock() <= created + 86400  # the last try was within the 24 h
    assert tries == outbox.entries["1-1"].item.attempts + 1 > 20


async def test_a_slow_receiver_times_out_and_is_retried(clock: FakeClock) -> None:
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook/{account}", stall)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    outbox = MemoryOutbox()
    await outbox.add(_item("1", f"http://127.0.0.1:{runner.addresses[0][1]}/hook", clock))
    notifier = _notifier(outbox, clock, timeout_s=0.05)
    await notifier.deliver_due()
    release.set()
    await notifier.aclose()
    await runner.cleanup()
    assert outbox.state("1-1") == "pending"
    assert "Timeout" in outbox.entries["1-1"].note


async def test_reports_of_an_unknown_account_are_given_up(clock: FakeClock) -> None:
    outbox = MemoryOutbox()
    await outbox.add(_item("1", "http://127.0.0.1:9/hook", clock, account="V9"))
    notifier = _notifier(outbox, clock)
    await notifier.deliver_due()
    await notifier.aclose()
    assert outbox.state("1-1") == "abandoned"


async def test_run_delivers_until_stopped(receiver: Receiver, clock: FakeClock) -> None:
    outbox = MemoryOutbox()
    notifier = _notifier(outbox, clock)
    runner = asyncio.create_task(notifier.run())
    await outbox.add(_item("1", receiver.url, clock))
    while outbox.state("1-1") != "delivered":
        await asyncio.sleep(0.01)
    notifier.stop()
    await runner
    await notifier.aclose()
    assert receiver.pushes == [("V1", ["1-1"], True)]


async def test_a_private_address_is_refused_at_once_and_never_contacted(
    receiver: Receiver, clock: FakeClock
) -> None:
    outbox = MemoryOutbox()
    await outbox.add(_item("1", receiver.url, clock))  # http://127.0.0.1:port/...
    notifier = _notifier(outbox, clock, guard=CallbackGuard())
    assert await notifier.deliver_due() == 0
    assert receiver.pushes == []
    entry = outbox.entries["1-1"]
    assert entry.state == "abandoned"
    assert "127.0.0.1 is not allowed" in entry.note
    await notifier.aclose()


async def test_a_name_resolving_to_a_private_address_is_never_contacted(
    receiver: Receiver, clock: FakeClock
) -> None:
    outbox = MemoryOutbox()
    await outbox.add(_item("1", receiver.url.replace("127.0.0.1", "localhost"), clock))
    notifier = _notifier(outbox, clock, guard=CallbackGuard())
    assert await notifier.deliver_due() == 0
    assert receiver.pushes == []
    entry = outbox.entries["1-1"]
    assert entry.state == "pending"  # retried like any failed connection, for up to 24 h
    assert "resolves only to addresses callbacks may not reach" in entry.note
    await notifier.aclose()


async def test_a_url_that_does_not_parse_is_given_up_and_logged_without_secrets(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = MemoryOutbox()
    await outbox.add(_item("1", "http://[not-an-address/hook", clock))
    await outbox.add(_item("2", "ftp://user:s3cret@example.com/hook", clock))
    notifier = _notifier(outbox, clock)
    assert await notifier.deliver_due() == 0  # no exception: other reports still go out
    await notifier.aclose()
    assert outbox.entries["1-1"].state == "abandoned"
    assert outbox.entries["1-1"].note == "not a valid URL"
    assert outbox.entries["2-1"].state == "abandoned"
    assert "s3cret" not in caplog.text
    assert "example.com" in caplog.text
