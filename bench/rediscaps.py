"""Client CPU of the shared limits' Redis round trips per Submit, at the concurrency of a
loaded API process: the per-number cap reservation (every Submit, when ``redis_url`` is
set), the account rate cap (only accounts with a rate) and the abuse detectors' counts
(every accepted Submit while a Submit detector is on, the default).

    .venv/bin/python bench/rediscaps.py                  # 4,000 of each, 50 at once
    .venv/bin/python bench/rediscaps.py -n 20000 -c 100

Needs Redis on 127.0.0.1:6379 (its keys are deleted after). Prints CPU µs per call of
this process (the API process's share; Redis's own CPU is not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


async def run(count: int, concurrency: int, url: str) -> dict[str, float]:
    import redis.asyncio

    from voiceotp.gateway.settings import NumberCaps
    from voiceotp.gateway.submit.abuse import AbuseLimits
    from voiceotp.gateway.submit.abuseredis import RedisAbuseCounts
    from voiceotp.gateway.submit.limits import RedisNumberCaps, RedisRateCap

    client = redis.asyncio.Redis.from_url(url)
    prefix = f"voiceotp-bench-caps-{uuid.uuid4().hex}:"
    caps, rate = RedisNumberCaps(client, prefix), RedisRateCap(client, prefix)
    abuse, limits, defaults = RedisAbuseCounts(client, prefix), NumberCaps(1, 5, 10), AbuseLimits()
    calls: dict[str, Callable[[int, str], Awaitable[object]]] = {
        "per-number cap reservation": lambda i, m: caps.reserve(1, m, 1e9, limits),
        "account rate cap": lambda i, m: rate.allow(i % 100, 1_000_000, 1e9 + i / 1e4),
        "abuse detectors' counts": lambda i, m: abuse.submit(i % 100, m, 1e9, defaults),
    }
    try:
        return {name: await _measure(call, count, concurrency) for name, call in calls.items()}
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
        await client.aclose()


async def _measure(
    call: Callable[[int, str], Awaitable[object]], count: int, concurrency: int
) -> float:
    """Client CPU µs per call, ``concurrency`` calls at a time."""
    started = time.process_time()
    for first in range(0, count, concurrency):
        batch = range(first, min(first + concurrency, count))
        await asyncio.gather(*(call(i, f"138{i:08d}") for i in batch))
    return (time.process_time() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("-n", "--count", type=int, default=4000)
    parser.add_argument("-c", "--concurrency", type=int, default=50)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    figures = asyncio.run(run(args.count, args.concurrency, args.redis_url))
    hiredis = "hiredis" in sys.modules
    print(f"{args.count} calls of each, {args.concurrency} at once, hiredis={hiredis}:")
    for name, cpu_us in figures.items():
        print(f"  {name}: {cpu_us:.0f} µs of client CPU per call")
    print("reproduce: .venv/bin/python bench/rediscaps.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
