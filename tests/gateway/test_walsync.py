"""WalFlusher: a commit is answered only after a flush that started after it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from voiceotp.store.walsync import WalFlusher


class CountingFlusher(WalFlusher):
    flushes = 0

    async def _flush_once(self) -> None:
        self.flushes += 1
        await super()._flush_once()


async def test_waiters_share_flushes_and_each_is_covered(tmp_path: Path) -> None:
    (tmp_path / "db-wal").write_bytes(b"frames")
    with ThreadPoolExecutor(1) as thread:
        flusher = CountingFlusher(tmp_path / "db", thread)
        first = flusher.committed()
        await flusher.wait_durable(first)
        assert flusher.flushes == 1
        await flusher.wait_durable(first)  # already covered: no new flush
        assert flusher.flushes == 1

        commits = [flusher.committed() for _ in range(20)]
        await asyncio.gather(*(flusher.wait_durable(c) for c in commits))
        assert flusher.flushes == 2  # one flush started after all 20 commits covers them

        early = flusher.committed()
        waiting = asyncio.ensure_future(flusher.wait_durable(early))
        await asyncio.sleep(0)  # wait_durable runs and creates its flush task,
        await asyncio.sleep(0)  # which starts: it has read which commits it covers ...
        late = flusher.committed()  # ... so this commit needs another one
        await asyncio.gather(waiting, flusher.wait_durable(late))
        assert flusher.flushes == 4
        flusher.close()
