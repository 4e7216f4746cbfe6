"""A PostgreSQL COMMIT whose answer never came back: find out what it did.

When the connection dies during COMMIT, the transaction may have committed (the server
finished it and the answer was lost) or not. Treating that as "rolled back" answered code 0
for calls that were stored and charged, and a retrying client rang its user twice. So
before answering, :func:`commit_outcome` ends the old backend (so it cannot commit later),
then looks for the batch's calls on a fresh connection: all there means committed, none
means rolled back (a batch is one transaction: never some). Only when the store cannot be
asked at all does the error stand (code 0), and the log says the outcome is unknown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

__all__ = ["commit_outcome"]

log = logging.getLogger(__name__)

_GONE = "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)"
_FOUND = "SELECT COUNT(*) FROM calls WHERE voiceid = ANY($1::bigint[])"


async def commit_outcome(
    dsn: str,
    backend_pid: int,
    voiceids: Sequence[int],
    *,
    tries: int = 20,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> bool | None:
    """True if the batch holding ``voiceids`` committed, False if it did not, None if the
    store could not tell (unreachable for all ``tries``)."""
    for attempt in range(tries):
        try:
            return await _ask(dsn, backend_pid, voiceids)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("commit outcome: store not answering (%s), try %d", exc, attempt + 1)
        await sleep(min(0.05 * 2**attempt, 1.0))
    return None


async def _ask(dsn: str, backend_pid: int, voiceids: Sequence[int]) -> bool | None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        if not await conn.fetchval(_GONE, backend_pid):
            # Still running: end it, so the transaction cannot commit after we looked.
            await conn.fetchval("SELECT pg_terminate_backend($1)", backend_pid)
            await _wait_gone(conn, backend_pid)
        found = int(await conn.fetchval(_FOUND, list(voiceids)))
    finally:
        await conn.close()
    if found not in (0, len(voiceids)):  # one transaction: all or nothing
        log.error("commit outcome: %d of %d calls of one batch found", found, len(voiceids))
    return found == len(voiceids)


async def _wait_gone(conn: asyncpg.Connection, backend_pid: int, limit_s: float = 5.0) -> None:
    """Until the server no longer lists ``backend_pid`` (TimeoutError after ``limit_s``)."""
    for _ in range(int(limit_s / 0.01)):
        if await conn.fetchval(_GONE, backend_pid):
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"backend {backend_pid} still running")
