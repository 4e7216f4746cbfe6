"""CPU per Submit inside one process, without HTTP: Submits pushed straight through the
gateway's ASGI app (real SQLite store, group commit, WAL flushes) by concurrent tasks.

It leaves out uvicorn's share (bench/gateway.py measures the whole server), so it shows
what our own code costs, with much less noise than wrk on a shared box; ``--profile``
prints where that time goes (cProfile, sorted by own time).

    .venv/bin/python bench/gateway_inproc.py                 # 20,000 Submits, 50 tasks
    .venv/bin/python bench/gateway_inproc.py -n 5000 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from voiceotp.gateway import create_app
from voiceotp.gateway.admin import Admin
from voiceotp.gateway.settings import Settings
from voiceotp.store import make_store
from voiceotp.store.keys import KeyBox
from voiceotp.store.migrate import upgrade_async

ACCOUNT = "V00000001"


async def prepare(settings: Settings) -> str:
    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        admin = Admin(store, KeyBox(settings.secret_key), time.time)
        return (await admin.create_account(name=ACCOUNT, balance=10**9)).apikey
    finally:
        await store.close()


def scope_of(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webservice/voice.php",
        "raw_path": b"/webservice/voice.php",
        "root_path": "",
        "query_string": b"method=Submit",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }


async def call(app: Any, body: bytes) -> bytes:
    """One request through the ASGI app; the response body."""
    sent: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    await app(scope_of(body), receive, send)
    return b"".join(sent)


async def drive(app: Any, apikey: str, numbers: range, tasks: int) -> tuple[int, float, float]:
    """(code-2 answers, wall seconds, CPU seconds) for one Submit per number."""
    counter = iter(numbers)
    ok = 0

    async def worker() -> None:
        nonlocal ok
        for i in counter:
            body = f"account={ACCOUNT}&password={apikey}&mobile=138{i:08d}&content=1125"
            if b"<code>2</code>" in await call(app, body.encode()):
                ok += 1

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    return ok, time.perf_counter() - wall, time.process_time() - cpu


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    settings = Settings.load(
        environ={},
        dev_mode=True,
        data_dir=data_dir,
        sqlite_synchronous=args.synchronous,
        abuse_distinct_numbers=0,  # one account, many numbers: not abuse here
        abuse_prefix_burst=0,
    )
    apikey = await prepare(settings)
    app = create_app(settings, migrate=False, tune_gc=True)
    async with app.router.lifespan_context(app):
        await drive(app, apikey, range(10**7, 10**7 + 2000), args.tasks)  # warm-up
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        ok, wall, cpu = await drive(app, apikey, range(args.requests), args.tasks)
        if profile is not None:
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(35)
        registry = app.state.gateway.observer.registry
        batches = registry.get_sample_value("voiceotp_commit_batch_size_count")
        rows = registry.get_sample_value("voiceotp_commit_batch_size_sum")
    print(f"{args.requests} Submits ({args.synchronous}), {args.tasks} tasks: code 2 x {ok}")
    cpu_us = cpu / args.requests * 1e6
    print(f"  {args.requests / wall:,.0f} req/s in-process, CPU {cpu_us:.1f} us/req")
    print(f"  {rows / batches:.1f} acceptances per commit (mean, warm-up included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--requests", type=int, default=20_000)
    parser.add_argument("-c", "--tasks", type=int, default=50)
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
