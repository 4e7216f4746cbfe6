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
    WRONG_COUNT,
    CheckVerdict,
    CodeRow,
    code_from_row,
    verdict_after_race,
)

# v's columns are verify.CODE_COLUMNS, in that order; then WRONG_COUNT's value.
_FIND_PG = (
    "SELECT k.seq, v.*, (SELECT COALESCE(SUM(w.attempts), 0) - COUNT(w.verified_at) "
    "FROM verifications w WHERE w.account_id = k.a AND w.mobile = k.m "
    "AND w.created_at >= k.since) FROM unnest($1::int[], $2::text[], $3::bigint[], "
    "$4::int[], $5::float8[]) AS k(a, m, vid, seq, since) CROSS JOIN LATERAL (SELECT id, "
    "voiceid, salt, code_mac, state, attempts, max_attempts, expires_at FROM verifications "
    "WHERE account_id = k.a AND mobile = k.m AND (k.vid IS NULL OR voiceid = k.vid) "
    "ORDER BY id DESC LIMIT 1) v"
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
    # THROTTLED once the number's codes made since ``wrong_since`` took this many wrong
    # attempts (0: no limit). Counted in the store, so every gateway process agrees.
    wrong_limit: int = 0
    wrong_since: float = 0.0


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
            queries = [p.query for p in batch]

            async def work(tx: Tx, queries: list[CheckQuery] = queries) -> list[Decided]:
                return await self._decide(tx, queries)

            try:
                decided = await self._store.transact(work)
            except Exception as exc:  # rolled back: no attempt of the batch was counted
                for p in batch:
                    if not p.answer.done():
                        p.answer.set_exception(exc)
                continue
            for p, outcome in zip(batch, decided, strict=True):
                if not p.answer.done():
                    p.answer.set_result(outcome)

    async def _decide(self, tx: Tx, queries: list[CheckQuery]) -> list[Decided]:
        found = await self._find(tx, queries)
        decided: list[Decided] = []
        attempts: list[tuple[int, int, float, int]] = []  # row id, right?, now, position
        for position, (query, (row, wrong)) in enumerate(zip(queries, found, strict=True)):
            blocked = _blocked(query, row, wrong)
            decided.append((blocked, row))
            if blocked is None and row is not None:
                attempts.append((row.id, 1 if query.matches(row) else 0, query.now, position))
        for position, state in (await self._count(tx, attempts)).items():
            verdict = None if state is None else _verdict(state)
            decided[position] = (verdict, decided[position][1])
        return decided

    async def _find(self, tx: Tx, queries: list[CheckQuery]) -> list[tuple[CodeRow | None, int]]:
        """Each query's code row, and the wrong attempts on its number's recent codes."""
        if not self._pg:
            return [await self._find_one(tx, q) for q in queries]
        rows = await tx.fetch(
            _FIND_PG,
            [q.account_id for q in queries],
            [q.mobile for q in queries],
            [q.voiceid for q in queries],
            list(range(len(queries))),
            [q.wrong_since for q in queries],
        )
        by_position: list[tuple[CodeRow | None, int]] = [(None, 0)] * len(queries)
        for r in rows:
            by_position[int(r[0])] = (code_from_row(r[1:9]), int(r[9]))
        return by_position

    @staticmethod
    async def _find_one(tx: Tx, q: CheckQuery) -> tuple[CodeRow | None, int]:
        if q.voiceid is None:
            row = await tx.fetchrow(LATEST, q.account_id, q.mobile)
        else:
            row = await tx.fetchrow(BY_VOICEID, q.account_id, q.mobile, q.voiceid)
        if row is None:
            return None, 0
        wrong = 0
        if q.wrong_limit:
            counted = await tx.fetchrow(WRONG_COUNT, q.account_id, q.mobile, q.wrong_since)
            wrong = int(counted[0]) if counted is not None else 0
        return code_from_row(row), wrong

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


def _blocked(query: CheckQuery, row: CodeRow | None, wrong: int) -> CheckVerdict | None:
    """Why no attempt is counted for ``query``, or None when one is."""
    if row is None:
        return CheckVerdict.NO_PENDING
    if query.wrong_limit and wrong >= query.wrong_limit:
        return CheckVerdict.THROTTLED
    return row.verdict_without_attempt(query.now)


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
