"""The Outbox contract: MemoryOutbox, and SqlOutbox on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.delivery.queue.sqlstores import NOW
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.notify import Outbox, OutboxItem, PushAttempt, StatusReport


def item(voiceid: str, created_at: float = NOW, next_at: float = NOW) -> OutboxItem:
    outcome = CallOutcome(CallStatus.ANSWERED, 200, 16, answer_at=NOW + 3, end_at=NOW + 9)
    report = StatusReport.from_outcome(
        voiceid=voiceid, mobile="13800138000", outcome=outcome, submit_time=NOW, attempts=1
    )
    return OutboxItem(report, "V1", "http://127.0.0.1:9/hook", created_at, next_at=next_at)


async def test_due_items_come_oldest_first_and_are_leased(outbox: Outbox) -> None:
    await outbox.add(item("2", next_at=NOW + 1))
    await outbox.add(item("1"))
    await outbox.add(item("3", next_at=NOW + 100))
    due = await outbox.due(NOW + 5, 10, lease_s=60)
    assert [i.report_id for i in due] == ["1-1", "2-1"]
    assert due[0] == item("1")  # the report survives the round trip unchanged
    assert await outbox.due(NOW + 5, 10) == []  # leased
    assert {i.report_id for i in await outbox.due(NOW + 66, 10)} == {"1-1", "2-1"}


async def test_a_report_added_twice_is_one_report(outbox: Outbox) -> None:
    await outbox.add(item("1"))
    await outbox.add(item("1", next_at=NOW - 50))
    assert len(await outbox.due(NOW, 10)) == 1


async def test_retry_counts_and_reschedules_delivered_and_abandoned_stop(outbox: Outbox) -> None:
    for voiceid in ("1", "2", "3"):
        await outbox.add(item(voiceid))
    await outbox.due(NOW, 10)
    await outbox.mark_retry("1-1", NOW + 30, "HTTP 500")
    await outbox.mark_delivered(["2-1"], NOW)
    await outbox.give_up("3-1", "no key")
    assert await outbox.due(NOW + 29, 10) == []
    [again] = await outbox.due(NOW + 30, 10)
    assert (again.report_id, again.attempts) == ("1-1", 1)
    later = await outbox.due(NOW + 10_000, 10)  # its lease ran out; the others are settled
    assert [i.report_id for i in later] == ["1-1"]


async def test_limit_is_respected(outbox: Outbox) -> None:
    for n in range(5):
        await outbox.add(item(str(n), created_at=NOW + n))
    assert len(await outbox.due(NOW, 3)) == 3
    assert len(await outbox.due(NOW, 3)) == 2


def push(report_id: str, attempt: int, status: int, error: str = "") -> PushAttempt:
    voiceid = report_id.split("-")[0]
    return PushAttempt(report_id, voiceid, attempt, NOW + attempt, status, error, 0.25)


async def test_push_attempts_are_kept_per_call_in_order(outbox: Outbox) -> None:
    refused = push("7-1", 1, 0, "ClientConnectorError: Cannot connect to host hooks.example")
    await outbox.record_push_attempts([refused, push("8-1", 1, 0, refused.error)])  # one POST
    await outbox.record_push_attempts([push("7-1", 2, 503), push("8-1", 2, 503)])
    await outbox.record_push_attempts([push("7-1", 3, 204)])
    await outbox.record_push_attempts([])  # a POST of nothing records nothing
    assert await outbox.push_attempts("7") == [refused, push("7-1", 2, 503), push("7-1", 3, 204)]
    assert [(a.attempt, a.http_status) for a in await outbox.push_attempts("8")] == [
        (1, 0),
        (2, 503),
    ]
    assert await outbox.push_attempts("9") == []


async def test_a_long_push_error_is_kept_short(outbox: Outbox) -> None:
    await outbox.record_push_attempts([push("7-1", 1, 0, "x" * 1000)])
    [kept] = await outbox.push_attempts("7")
    assert kept.error == "x" * 200
