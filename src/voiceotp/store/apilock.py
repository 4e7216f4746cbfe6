"""Which API processes share one store: a lock each API process holds while it runs.

Per-number caps, the account rate cap and the abuse detectors live in one process unless
Redis is configured. Two API processes on one store without Redis would each count alone:
a number could be called twice a minute. So an API process without Redis holds the lock
exclusively, one with Redis holds it shared: a second process without Redis (or one with
Redis next to one without) cannot take it and refuses to start. The lock goes with the
process: a PostgreSQL advisory lock on a connection of its own, or ``flock`` on a file
beside the SQLite database.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any

__all__ = ["API_LOCK_KEY", "ProcessLock", "flock_api", "pg_lock_api"]

API_LOCK_KEY = 0x766F_6963_656F_7470  # "voiceotp": the advisory lock's key


class ProcessLock:
    """A held (or refused: ``held`` False) API process lock; release it at stop."""

    def __init__(self, held: bool, release: Any = None) -> None:
        self.held = held
        self._release = release

    async def release(self) -> None:
        release, self._release = self._release, None
        if isinstance(release, int):
            os.close(release)  # closing the descriptor drops the flock
        elif release is not None:  # the asyncpg connection holding the advisory lock
            with contextlib.suppress(Exception):
                await release.close()


def flock_api(database: Path, *, shared: bool) -> ProcessLock:
    """The lock on ``<database>.api-lock`` (created beside the SQLite file)."""
    fd = os.open(f"{database}.api-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return ProcessLock(False)
    return ProcessLock(True, fd)


async def pg_lock_api(dsn: str, *, shared: bool) -> ProcessLock:
    """The advisory lock, on a connection of its own held until :meth:`release`."""
    import asyncpg  # the postgres extra: only a PostgreSQL store gets here

    conn = await asyncpg.connect(dsn, timeout=10)
    take = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    if await conn.fetchval(f"SELECT {take}($1)", API_LOCK_KEY):
        return ProcessLock(True, conn)
    await conn.close()
    return ProcessLock(False)
