"""Checks in batches: the group commit of method=Check.

Every Check queued while a batch runs goes into the next one: ONE transaction (and, on
SQLite, one WAL flush) finds each request's code, and counts each attempt with its own
conditional UPDATE (``WHERE state = 'pending'`` and the attempt and expiry limits), so of
any number of concurrent right answers exactly one succeeds. On PostgreSQL the finding
and the counting are one statement each per batch (``unnest``); a code met twice in one
batch is counted in a second round, so the second attempt sees the first. No task
outlives the last batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from voiceotp.store.base import Store
from voiceotp.store.rows import Tx
from voiceotp.store.verify import (
    ATTEMPT,
    BY_VOICEID,
    LATEST,
    VERIFIED,
    CheckVerdict,
    CodeRow,
    code_from_row,
    verdict_after_race,
)

# v's columns are verify.CODE_COLUMNS, in that order.
_FIND_PG = (
    "SELECT k.seq, v.* FROM unnest($1::int[], $2::text[], $3::bigint[], $4::int[]) "
    "AS k(a, m, vid, seq) CROSS JOIN LATERAL (SELECT id, voiceid, salt, code_mac, state, "
    "attempts, max_attempts, expires_at FROM verifications WHERE account_id = k.a "
    "AND mobile = k.m "
    "AND (k.vid IS NULL OR voiceid = k.vid) ORDER BY id DESC LIMIT 1) v"
)
_COUNT_PG = (
    "UPDATE verifications v SET attempts = v.attempts + 1, "
    "state = CASE WHEN u.ok = 1 THEN 'verified' "
    "WHEN v.attempts + 1 >= v.max_attempts THEN 'exhausted' ELSE 'pending' END, "
    "verified_at = CASE WHEN u.ok = 1 THEN u.now ELSE v.verified_at END, "
    "code_enc = CASE WHEN u.ok = 1 THEN NULL ELSE v.code_enc END "
    "FROM unnest($1::bigint[], $2::int[], $3::float8[], $4::int[]) AS u(id, ok, now, seq) "
    "WHERE v.id = u.id AND v.state = 'pending' AND v.expires_at > u.now "
    "AND v.attempts < v.max_attempts RETURNING u.seq, v.state"
)


@dataclass(frozen=True, slots=True)
class CheckQuery:
    """One Check: whose code, when, and how to compare (the store never sees the code)."""

    account_id: int
    mobile: str
    voiceid: int | None  # None: the number's latest code
    now: float
    matches: Callable[[CodeRow], bool]


Decided = tuple[CheckVerdict | None, CodeRow | None]  # verdict None: lost a race


@dataclass(slots=True)
class _Pending:
    query: CheckQuery
    answer: asyncio.Future[Decided]


class CheckBatcher:
    """Answers Checks in batches (see the module doc)."""

    def __init__(self, store: Store, *, batch_max: int = 512) -> None:
        from voiceotp.store.postgres import PostgresStore

        self._store, self._batch_max = store, batch_max
        self._pg = isinstance(store, PostgresStore)
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    async def check(self, query: CheckQuery) -> tuple[CheckVerdict, CodeRow | None]:
        """The verdict on ``query`` and the code row it was judged on (None: no code)."""
        loop = asyncio.get_running_loop()
        pending = _Pending(query, loop.create_future())
        self._queue.append(pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="check-batch")
        verdict, row = await pending.answer
        if verdict is None:  # its UPDATE found the row changed: read why
            assert row is not None
            return await verdict_after_race(self._store, row, query.now), row
        return verdict, row

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the Checks of this loop pass queue up first
        while self._queue:
            batch = self._queue[: self._batch_max]
            del self._queue[: len(batch)]
            try:
                decided = await self._store._transact(
                    lambda tx, b=batch: self._decide(tx, [p.query for p in b])  # type: ignore[misc]
                )
            except Exception as exc:  # rolled back: no attempt of the batch was counted
                for p in batch:
                    if not p.answer.done():
                        p.answer.set_exception(exc)
                continue
            for p, outcome in zip(batch, decided, strict=True):
                if not p.answer.done():
                    p.answer.set_result(outcome)

    async def _decide(self, tx: Tx, queries: list[CheckQuery]) -> list[Decided]:
        rows = await self._find(tx, queries)
        decided: list[Decided] = []
        attempts: list[tuple[int, int, float, int]] = []  # row id, right?, now, position
        for position, (query, row) in enumerate(zip(queries, rows, strict=True)):
            blocked = (
                CheckVerdict.NO_PENDING if row is None else row.verdict_without_attempt(query.now)
            )
            decided.append((blocked, row))
            if blocked is None and row is not None:
                attempts.append((row.id, 1 if query.matches(row) else 0, query.now, position))
        for position, state in (await self._count(tx, attempts)).items():
            verdict = None if state is None else _verdict(state)
            decided[position] = (verdict, decided[position][1])
        return decided

    async def _find(self, tx: Tx, queries: list[CheckQuery]) -> list[CodeRow | None]:
        if not self._pg:
            found = [
                await (
                    tx.fetchrow(LATEST, q.account_id, q.mobile)
                    if q.voiceid is None
                    else tx.fetchrow(BY_VOICEID, q.account_id, q.mobile, q.voiceid)
                )
                for q in queries
            ]
            return [None if r is None else code_from_row(r) for r in found]
        rows = await tx.fetch(
            _FIND_PG,
            [q.account_id for q in queries],
            [q.mobile for q in queries],
            [q.voiceid for q in queries],
            list(range(len(queries))),
        )
        by_position: list[CodeRow | None] = [None] * len(queries)
        for r in rows:
            by_position[int(r[0])] = code_from_row(r[1:])
        return by_position

    async def _count(
        self, tx: Tx, attempts: list[tuple[int, int, float, int]]
    ) -> dict[int, str | None]:
        """Each attempt's new state by position (None: the row was no longer open)."""
        states: dict[int, str | None] = {a[3]: None for a in attempts}
        if not self._pg:
            for row_id, right, now, position in attempts:
                found = await tx.fetchrow(ATTEMPT, row_id, right, now)
                states[position] = None if found is None else str(found[0])
            return states
        for round_ in _rounds(attempts):
            updated = await tx.fetch(
                _COUNT_PG,
                *([a[i] for a in round_] for i in range(4)),
            )
            states.update({int(seq): str(state) for seq, state in updated})
        return states


def _verdict(state: str) -> CheckVerdict:
    return CheckVerdict.VERIFIED if state == VERIFIED else CheckVerdict.WRONG


def _rounds(
    attempts: list[tuple[int, int, float, int]],
) -> list[list[tuple[int, int, float, int]]]:
    """``attempts`` in rounds where no row repeats; a repeat goes one round later."""
    rounds: list[list[tuple[int, int, float, int]]] = []
    seen: dict[int, int] = {}
    for attempt in attempts:
        depth = seen[attempt[0]] = seen.get(attempt[0], -1) + 1
        if depth == len(rounds):
            rounds.append([])
        rounds[depth].append(attempt)
    return rounds
