"""The CallFence contract: MemoryFence, and SqlFence on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.delivery.queue.sqlstores import (
    NOW,
    SQL_KINDS,
    add_account,
    add_call,
    open_store,
    sql_settings,
)
from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.queue import CallFence, CallTicket, ClaimVerdict, MemoryFence
from voiceotp.gateway.settings import Settings

NO_ANSWER = CallOutcome(CallStatus.NO_ANSWER, 487, 19, end_at=NOW)
ANSWERED = CallOutcome(CallStatus.ANSWERED, 200, 16, end_at=NOW)
TICKET = CallTicket("7", "13800138000", "1125", "en", 3)


@pytest.fixture(params=["memory", *SQL_KINDS])
def fence_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings | None:
    return None if request.param == "memory" else sql_settings(request, request.param, tmp_path)


@pytest.fixture
async def fence(fence_settings: Settings | None) -> AsyncIterator[CallFence]:
    if fence_settings is None:
        memory = MemoryFence()
        memory.add(TICKET)
        yield memory
        return
    settings = fence_settings
    async for store in open_store(settings):
        account_id = await add_account(store, settings)
        await add_call(store, TICKET, account_id=account_id)
        yield SqlFence(store, language="en", repeat=3)


async def _claim(fence: CallFence, attempt: int = 1, now: float = NOW) -> ClaimVerdict:
    claim = await fence.claim_for_dialing("7", attempt=attempt, worker="w", now=now, lease_s=100)
    return claim.verdict


async def test_first_claim_is_granted_with_the_ticket(fence: CallFence) -> None:
    claim = await fence.claim_for_dialing("7", attempt=1, worker="w", now=NOW, lease_s=100)
    assert claim.verdict is ClaimVerdict.GRANTED
    assert claim.ticket == CallTicket("7", "13800138000", "1125", "en", 3)


async def test_a_second_claim_sees_the_live_lease_then_the_orphan(fence: CallFence) -> None:
    assert await _claim(fence) is ClaimVerdict.GRANTED
    assert await _claim(fence, now=NOW + 99) is ClaimVerdict.IN_FLIGHT
    assert await _claim(fence, now=NOW + 100) is ClaimVerdict.ORPHANED


async def test_finished_calls_are_settled_and_finish_only_once(fence: CallFence) -> None:
    await _claim(fence)
    assert await fence.finish("7", ANSWERED, attempt=1)
    assert not await fence.finish("7", ANSWERED, attempt=1)
    assert await _claim(fence) is ClaimVerdict.SETTLED
    assert await _claim(fence, attempt=2) is ClaimVerdict.SETTLED


async def test_a_requeued_call_is_granted_to_the_next_attempt_only(fence: CallFence) -> None:
    await _claim(fence)
    assert await fence.requeue("7", NO_ANSWER, attempt=1, not_before=NOW + 30)
    assert await _claim(fence, attempt=1) is ClaimVerdict.SETTLED  # stale copy of attempt 1
    assert await _claim(fence, attempt=2) is ClaimVerdict.GRANTED
    assert not await fence.requeue("7", NO_ANSWER, attempt=1, not_before=NOW)


async def test_unknown_calls_are_settled(fence: CallFence) -> None:
    claim = await fence.claim_for_dialing("nope", attempt=1, worker="w", now=NOW, lease_s=1)
    assert claim.verdict is ClaimVerdict.SETTLED
    assert not await fence.finish("nope", ANSWERED, attempt=1)


async def test_an_expired_queued_call_can_be_finished_without_a_claim(fence: CallFence) -> None:
    expired = CallOutcome(CallStatus.EXPIRED, None, None, end_at=NOW)
    assert await fence.finish("7", expired, attempt=1)
    assert await _claim(fence) is ClaimVerdict.SETTLED
