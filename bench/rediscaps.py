"""Client CPU of one per-number cap reservation in Redis (the Lua script every Submit runs
when ``redis_url`` is set), at the concurrency of a loaded API process.

    .venv/bin/python bench/rediscaps.py                  # 4,000 reservations, 50 at once
    .venv/bin/python bench/rediscaps.py -n 20000 -c 100

Needs Redis on 127.0.0.1:6379 (its keys are deleted after). Prints CPU µs per
reservation of this process (the API process's share; Redis's own CPU is not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


async def run(count: int, concurrency: int, url: str) -> float:
    import redis.asyncio

    from voiceotp.gateway.settings import NumberCaps
    from voiceotp.gateway.submit.limits import RedisNumberCaps

    client = redis.asyncio.Redis.from_url(url)
    prefix = f"voiceotp-bench-caps-{uuid.uuid4().hex}:"
    caps = RedisNumberCaps(client, prefix)
    limits = NumberCaps(1, 5, 10)
    try:
        started = time.process_time()
        for first in range(0, count, concurrency):
            mobiles = (f"138{i:08d}" for i in range(first, min(first + concurrency, count)))
            await asyncio.gather(*(caps.reserve(1, m, 1e9, limits) for m in mobiles))
        return (time.process_time() - started) / count * 1e6
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("-n", "--count", type=int, default=4000)
    parser.add_argument("-c", "--concurrency", type=int, default=50)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    cpu_us = asyncio.run(run(args.count, args.concurrency, args.redis_url))
    hiredis = "hiredis" in sys.modules
    print(f"{args.count} reservations, {args.concurrency} at once, hiredis={hiredis}:")
    print(f"  {cpu_us:.0f} µs of client CPU per reservation")
    print("reproduce: .venv/bin/python bench/rediscaps.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
