"""Durability for SQLite group commit without holding the write lock during the fsync.

With ``synchronous=FULL`` SQLite fsyncs the WAL inside COMMIT, so the next batch waits
for the disk. Instead the write connection commits with ``synchronous=NORMAL`` (COMMIT
only appends to the WAL) and :class:`WalFlusher` fsyncs the WAL file in a thread; a
batch is answered once a flush that *started after its COMMIT* has finished. One flush
covers every commit before it, so concurrent batches share flushes, and the next batch
runs its statements while the disk works. Power-loss durability is FULL's.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


class WalFlusher:
    """Counts commits and makes them durable by fsyncing ``<db>-wal``."""

    def __init__(self, db_path: Path, thread: ThreadPoolExecutor) -> None:
        self._wal_path = Path(f"{db_path}-wal")
        self._thread = thread
        self._fd: int | None = None
        self._committed = 0  # commits made so far
        self._durable = 0  # commits covered by a finished flush
        self._flush: asyncio.Task[None] | None = None

    def committed(self) -> int:
        """Record one COMMIT that returned; its number, for :meth:`wait_durable`."""
        self._committed += 1
        return self._committed

    async def wait_durable(self, commit: int) -> None:
        """Return once commit number ``commit`` is on stable storage."""
        while self._durable < commit:
            if self._flush is None or self._flush.done():
                self._flush = asyncio.get_running_loop().create_task(self._flush_once())
            await asyncio.shield(self._flush)

    async def _flush_once(self) -> None:
        covers = self._committed  # everything committed before the fsync starts
        if self._fd is None:
            self._fd = os.open(self._wal_path, os.O_RDONLY)
        await asyncio.get_running_loop().run_in_executor(self._thread, os.fsync, self._fd)
        self._durable = max(self._durable, covers)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
