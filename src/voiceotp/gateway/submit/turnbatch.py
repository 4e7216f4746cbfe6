"""One round trip for the calls of one event-loop turn.

The group commit answers a whole batch of Submits at once, so their follow-up calls (the
abuse detectors' counts) are made in the same turn of the loop. :class:`TurnBatch` lets
each caller await its own result while the items of a turn go to ``send`` together: one
Redis command instead of one per Submit (most of a round trip's cost is the client's,
per command, not per item).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class TurnBatch(Generic[T, R]):
    """``await batch(item)``: the items of one loop turn are sent by one ``send`` call,
    which returns one result per item, in order (or raises: then every caller does)."""

    def __init__(self, send: Callable[[list[T]], Awaitable[Sequence[R]]]) -> None:
        self._send = send
        self._items: list[T] = []
        self._waiters: list[asyncio.Future[R]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[R] = loop.create_future()
        if not self._items:
            loop.call_soon(self._flush)  # after the other callers woken in this turn
        self._items.append(item)
        self._waiters.append(waiter)
        return await waiter

    def _flush(self) -> None:
        items, waiters = self._items, self._waiters
        self._items, self._waiters = [], []
        task = asyncio.ensure_future(self._deliver(items, waiters))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, items: list[T], waiters: list[asyncio.Future[R]]) -> None:
        try:
            results = await self._send(items)
        except asyncio.CancelledError:  # the loop is stopping: nobody waits forever
            for waiter in waiters:
                waiter.cancel()
            raise
        except Exception as exc:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter, result in zip(waiters, results, strict=True):
            if not waiter.done():  # a caller that gave up (cancelled) wants nothing
                waiter.set_result(result)
