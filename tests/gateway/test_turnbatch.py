"""TurnBatch: the calls of one loop turn go out as one, each caller gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from voiceotp.gateway.submit.turnbatch import TurnBatch


class Sender:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[list[int]] = []
        self.fail = fail

    async def __call__(self, items: list[int]) -> list[int]:
        self.sent.append(items)
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("Redis went away")
        return [i * 10 for i in items]


async def test_the_calls_of_one_turn_are_sent_together_and_answered_in_order() -> None:
    sender = Sender()
    batch: TurnBatch[int, int] = TurnBatch(sender)
    assert await asyncio.gather(*(batch(i) for i in range(5))) == [0, 10, 20, 30, 40]
    assert await batch(7) == 70  # a later turn: a batch of its own
    assert sender.sent == [[0, 1, 2, 3, 4], [7]]


async def test_a_failed_send_fails_every_caller_of_its_batch() -> None:
    batch: TurnBatch[int, int] = TurnBatch(Sender(fail=True))
    results = await asyncio.gather(batch(1), batch(2), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]


async def test_a_caller_that_gave_up_does_not_disturb_the_others() -> None:
    sender = Sender()
    batch: TurnBatch[int, int] = TurnBatch(sender)
    gone = asyncio.ensure_future(batch(1))
    kept = asyncio.ensure_future(batch(2))
    await asyncio.sleep(0)
    gone.cancel()
    assert await kept == 20
    with pytest.raises(asyncio.CancelledError):
        await gone
