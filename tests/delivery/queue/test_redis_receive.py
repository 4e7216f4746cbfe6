"""RedisQueue.receive sends the delayed jobs' promotion and the read in one pipeline; a
Redis that does not know the promotion script (restarted, script cache flushed) gets it
loaded, and the due job comes with the next receive."""

from __future__ import annotations

import uuid

from tests.delivery.queue.conftest import redis_or_skip
from tests.delivery.queue.fakes import FakeClock
from voiceotp.delivery.queue import Job
from voiceotp.delivery.queue.redis import _PROMOTE, RedisQueue


async def test_a_lost_promotion_script_is_loaded_again(clock: FakeClock) -> None:
    client = await redis_or_skip()
    queue = RedisQueue(client, prefix=f"voiceotp-test:{uuid.uuid4().hex}", group="g", clock=clock)
    # A script this Redis has never seen (fresh SHA): what a flushed script cache looks like,
    # without flushing the shared instance's.
    queue._promote = client.register_script(_PROMOTE + f"\n-- {uuid.uuid4().hex}")
    await queue.setup()
    try:
        job = Job("60495654", clock() + 300, attempt=2, not_before=clock() + 30)
        await queue.enqueue(job)
        clock.advance(30)
        assert await client.script_exists(queue._promote.sha) == [False]
        first = await queue.receive("w1")  # read before the script was loaded and run
        assert await client.script_exists(queue._promote.sha) == [True]
        delivered = first or await queue.receive("w1")
        assert [d.job for d in delivered] == [job]
        assert await queue.receive("w1") == []
    finally:
        await client.delete(queue.stream, queue.delayed, queue.dead)
        await queue.aclose()
