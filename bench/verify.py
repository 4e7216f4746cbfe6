"""Check against Submit (and Verify) on one process, without HTTP: requests pushed
straight through the gateway's ASGI app (real store, group commit, WAL flushes) by
concurrent tasks, as bench/gateway_inproc.py does for Submit.

Prints throughput, p50/p99 latency and CPU per request of each method. The Checks are
right codes (each consumes its code: one conditional UPDATE), learned from the sealed
copies as a dialer would; ``--wrong`` makes every Check a wrong one (an attempt counted).

    .venv/bin/python bench/verify.py                    # 5,000 each, 50 tasks, SQLite FULL
    .venv/bin/python bench/verify.py --database postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    from bench.gateway_inproc import ACCOUNT, prepare, scope_of
except ModuleNotFoundError:  # run as a script: bench/ itself is on sys.path
    from gateway_inproc import ACCOUNT, prepare, scope_of  # type: ignore[no-redef]
from voiceotp.gateway import create_app
from voiceotp.gateway.settings import Settings
from voiceotp.store.keys import KeyBox

Body = Callable[[int], bytes]


async def call(app: Any, method: str, body: bytes) -> bytes:
    scope = scope_of(body)
    scope["query_string"] = f"method={method}".encode()
    sent: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(sent)


async def drive(app: Any, method: str, body: Body, n: int, tasks: int) -> dict[str, float]:
    """Throughput, latency percentiles and CPU of ``n`` requests over ``tasks`` tasks."""
    counter, latencies, ok = iter(range(n)), [], 0

    async def worker() -> None:
        nonlocal ok
        for i in counter:
            started = time.perf_counter()
            answer = await call(app, method, body(i))
            latencies.append(time.perf_counter() - started)
            ok += b"<code>2</code>" in answer

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    cuts = statistics.quantiles(latencies, n=100)
    return {"rps": n / wall, "p50": cuts[49], "p99": cuts[98], "cpu": cpu / n, "ok": ok}


async def codes(app: Any, settings: Settings, n: int) -> list[str]:
    """The codes the Verify phase made up, in mobile order (opened like the dialer does)."""
    store, box = app.state.gateway.store, KeyBox(settings.secret_key)
    rows = await store.read("SELECT mobile, code_enc FROM verifications ORDER BY mobile")
    return [box.open(str(r[1])) for r in rows][:n]


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    settings = Settings.load(
        environ={},
        dev_mode=True,
        data_dir=data_dir,
        database_url=args.database,
        sqlite_synchronous=args.synchronous,
        abuse_distinct_numbers=0,
        abuse_prefix_burst=0,
    )
    apikey = await prepare(settings)
    auth = f"account={ACCOUNT}&password={apikey}"
    app = create_app(settings, migrate=False, tune_gc=True)
    n, tasks = args.requests, args.tasks
    async with app.router.lifespan_context(app):
        warm = (lambda i: f"{auth}&mobile=137{i:08d}&content=1125".encode(), n // 5)
        await drive(app, "Submit", warm[0], warm[1], tasks)
        figures = {
            "Submit": await drive(
                app, "Submit", lambda i: f"{auth}&mobile=138{i:08d}&content=1125".encode(), n, tasks
            ),
            "Verify": await drive(
                app, "Verify", lambda i: f"{auth}&mobile=139{i:08d}".encode(), n, tasks
            ),
        }
        known = await codes(app, settings, n)
        wrong = args.wrong

        def check(i: int) -> bytes:
            code = f"{(int(known[i]) + 1) % 10**6:06d}" if wrong else known[i]
            return f"{auth}&mobile=139{i:08d}&code={code}".encode()

        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        name = "Check (wrong)" if wrong else "Check"
        figures[name] = await drive(app, "Check", check, n, tasks)
        if profile is not None:
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    store = "PostgreSQL" if args.database else f"SQLite {args.synchronous}"
    print(f"{n} requests per method, {tasks} tasks, one process, {store}")
    print(f"  {'method':<15}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/req':>12}{'code 2':>8}")
    for name, f in figures.items():
        print(
            f"  {name:<15}{f['rps']:>9,.0f}{f['p50'] * 1e3:>9.2f}{f['p99'] * 1e3:>9.2f}"
            f"{f['cpu'] * 1e6:>12.0f}{int(f['ok']):>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--requests", type=int, default=5_000)
    parser.add_argument("-c", "--tasks", type=int, default=50)
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--wrong", action="store_true", help="every Check a wrong code")
    parser.add_argument("--profile", action="store_true", help="cProfile the Check phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
