"""Privacy costs on SQLite: a call's end with its code erased, the WAL truncation after it,
and a retention sweep masking numbers (docs/privacy.md).

Reproduce:  .venv/bin/python bench/privacy.py [--calls 2000]
Figures are wall-clock on a shared machine: run once, read as orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from voiceotp.delivery.dialer import CallOutcome, CallStatus
from voiceotp.delivery.fence import SqlFence
from voiceotp.delivery.retention import DAY_S, RetentionSettings, RetentionSweep
from voiceotp.gateway.settings import Settings
from voiceotp.store import Acceptance, make_store
from voiceotp.store.keys import KeyBox
from voiceotp.store.migrate import upgrade_async

NOW = 1_700_000_000.0


async def run(calls: int, folder: Path) -> None:
    settings = Settings.from_mapping({"dev_mode": True, "data_dir": folder})
    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        account = await store.create_account(name="V1", apikey_enc="x", now=NOW, balance=calls)
        items = [
            Acceptance(account.id, f"138{i:08d}", f"{i % 10**6:06d}", NOW, NOW + 300)
            for i in range(calls)
        ]
        ids = [o.voiceid for o in await asyncio.gather(*(store.accept(i) for i in items))]
        fence = SqlFence(store, keybox=KeyBox(settings.secret_key))
        done = CallOutcome(CallStatus.BUSY, 486, 17, NOW, NOW + 1, None, NOW + 2)
        start = time.perf_counter()
        for voiceid in ids:
            await fence.finish(voiceid, done, attempt=1)
        each = (time.perf_counter() - start) / calls
        wal = Path(f"{settings.effective_database_url.removeprefix('sqlite:///')}-wal")
        size = wal.stat().st_size
        start = time.perf_counter()
        await store.scrub_journal()
        scrub = time.perf_counter() - start
        sweep = RetentionSweep(store, RetentionSettings(), record_dir=None)
        start = time.perf_counter()
        counts = await sweep.sweep(NOW + 181 * DAY_S)
        masking = time.perf_counter() - start
    finally:
        await store.close()
    print(f"finish (record, charge, code erased): {each * 1e3:.2f} ms per call")
    print(f"WAL truncation after {calls} ends ({size / 2**20:.1f} MiB WAL): {scrub * 1e3:.1f} ms")
    masked = counts.numbers_masked
    print(f"retention sweep: {masked} numbers masked in {masking:.2f} s ({masked / masking:.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000, help="calls to end (default 2000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.calls, Path(tmp)))


if __name__ == "__main__":
    main()
