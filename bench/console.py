"""The operator console under a big store: latency of every page with N call records
(default 1,000,000) on SQLite and PostgreSQL, and Submit throughput with a dashboard
open and refreshing next to none.

A real ``voiceotp serve`` (console on, delivery off) on a seeded store; one signed-in
HTTP client asks each page ``--requests`` times in turn (p50/p99 per page). Then wrk sends
Submits for ``--duration`` s twice: alone, and with a dashboard client refreshing every
``--refresh`` s (5, as the page does; the bench refreshes all three windows each time).

    .venv/bin/python bench/console.py                     # both stores, 1,000,000 calls
    .venv/bin/python bench/console.py --only sqlite --calls 100000 -d 5

Figures are only comparable on one machine; with other work on the box they are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.gateway import free_port, pg_database, run_wrk, server_env, start

ACCOUNTS = 100
FIRST_ID = 2**61  # above every voiceid a gateway hands out (n << 24 with n < 2**37)
SPAN_S = 7 * 86400  # the seeded calls spread over the last week
PASSWORD = "bench password 1"
STATES = ("ANSWERED", "ANSWERED", "ANSWERED", "ANSWERED", "BUSY", "NO_ANSWER", "FAILED",
          "REJECTED")  # fmt: skip
STATE_SQL = "CASE g % 8 " + " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(STATES)) + " END"
SEED_COLUMNS = (
    "voiceid, account_id, mobile, content, state, created_at, deadline, attempts, sip_code, "
    "answer_time, end_time, duration, not_before"
)
SEED_SQLITE = f"""
WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < :count)
INSERT INTO calls ({SEED_COLUMNS})
SELECT :first + g, 1 + g % {ACCOUNTS}, '138' || substr('0000000' || (g * 7919 % 100000000), -8),
  '1234', {STATE_SQL}, :start + g * :step, :start + g * :step + 300, 1, 200,
  :start + g * :step + 5, :start + g * :step + 20, 15, 0 FROM n
"""
SEED_POSTGRES = f"""
INSERT INTO calls ({SEED_COLUMNS})
SELECT $1::bigint + g, 1 + g % {ACCOUNTS},
  '138' || lpad((g::bigint * 7919 % 100000000)::text, 8, '0'),
  '1234', {STATE_SQL}, $2 + g * $3, $2 + g * $3 + 300, 1, 200, $2 + g * $3 + 5,
  $2 + g * $3 + 20, 15, 0 FROM generate_series(1, $4) g
"""


async def prepare(env: dict[str, str], calls: int) -> str:
    """Migrate; accounts, an operator, ``calls`` call records; the bench account's APIKEY."""
    from voiceotp.gateway.admin import Admin
    from voiceotp.gateway.settings import Settings
    from voiceotp.store import make_store
    from voiceotp.store.keys import KeyBox
    from voiceotp.store.migrate import upgrade_async
    from voiceotp.store.web import create_web_user
    from voiceotp.web.passwords import hash_password

    settings = Settings.load(environ=env)
    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        admin = Admin(store, KeyBox(settings.secret_key), time.time)
        key = await admin.create_account(name="V00000001", balance=10**9)
        for i in range(2, ACCOUNTS + 1):
            await admin.create_account(name=f"V{i:08d}", balance=i % 20)
        await create_web_user(
            store, kind="operator", login="bench", password_hash=hash_password(PASSWORD),
            role="admin", now=time.time(),
        )  # fmt: skip
    finally:
        await store.close()
    start_at, step = time.time() - SPAN_S, SPAN_S / calls
    url = settings.effective_database_url
    began = time.perf_counter()
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(SEED_SQLITE, {"count": calls, "first": FIRST_ID, "start": start_at,
                                       "step": step})  # fmt: skip
            conn.execute("ANALYZE")
    else:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(SEED_POSTGRES, FIRST_ID, start_at, step, calls)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
    print(f"  seeded {calls:,} call records in {time.perf_counter() - began:.1f} s")
    return key.apikey


def sign_in(base: str) -> httpx2.Client:
    client = httpx2.Client(base_url=base, timeout=30)
    form = client.get("/console/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/console/signin", data={"csrf_token": token, "login": "bench", "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text
    return client


def pages(calls: int) -> dict[str, str]:
    newest = FIRST_ID + calls
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 2 * 86400))
    until = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 86400))
    return {
        "dashboard (hour)": "/console/?window=hour",
        "dashboard (week)": "/console/?window=week",
        "accounts": "/console/accounts",
        "accounts search+sort": "/console/accounts?q=0005&sort=-balance",
        "account detail": "/console/accounts/V00000042",
        "calls": "/console/calls",
        "calls, page 1000 on": f"/console/calls?after={newest - 50_000}",
        "calls by account": "/console/calls?account=V00000042",
        "calls by mobile": "/console/calls?mobile=13800007919",
        "calls by status": "/console/calls?state=BUSY",
        "calls by time range": f"/console/calls?since={since}&until={until}",
        "rare status (EXPIRED)": "/console/calls?state=EXPIRED",
        "call detail": f"/console/calls/{newest - 7}",
        "rules": "/console/rules",
        "audit log": "/console/audit",
    }


def time_pages(base: str, calls: int, requests: int) -> list[tuple[str, float, float, float]]:
    """(page, p50, p99, first request) in ms; the first request (template compiled, cold
    caches, the dashboard's figures computed) is shown apart, p50/p99 are of the others."""
    rows = []
    client = sign_in(base)
    with contextlib.closing(client):
        for name, path in pages(calls).items():
            times = []
            for _ in range(requests + 1):
                began = time.perf_counter()
                answer = client.get(path, headers={"hx-request": "true"} if "dash" in name else {})
                times.append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            ordered = sorted(times[1:])
            p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            rows.append((name, statistics.median(ordered), p99, times[0]))
    return rows


def refreshing_dashboard(base: str, every_s: float, stop: threading.Event) -> int:
    """A dashboard that refreshes every ``every_s``; the number of refreshes."""
    count = 0
    client = sign_in(base)
    with contextlib.closing(client):
        while not stop.wait(every_s):
            for window in ("hour", "day", "week"):
                client.get(f"/console/?window={window}", headers={"hx-request": "true"})
            count += 1
    return count


def watch(base: str, every_s: float, stop: threading.Event, result: list[int]) -> None:
    result.append(refreshing_dashboard(base, every_s, stop))


def bench_store(name: str, database_url: str, data_dir: Path, args: argparse.Namespace) -> None:
    print(f"\n{name}")
    env = server_env(data_dir, database_url)
    apikey = asyncio.run(prepare(env, args.calls))
    port = free_port()
    command = [sys.executable, "-m", "voiceotp", "serve", "--no-access-log", "--no-delivery",
               "--port", str(port)]  # fmt: skip
    server = start(command, env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        rows = time_pages(base, args.calls, args.requests)
        print(f"  {'page':<24} {'p50 ms':>8} {'p99 ms':>8} {'first ms':>9}")
        for page, p50, p99, first in rows:
            flag = "" if p99 <= 50 else "  > 50 ms"
            print(f"  {page:<24} {p50:8.1f} {p99:8.1f} {first:9.1f}{flag}")
        # Alternating runs (alone, watched, alone, watched): the box's other load drifts.
        alone, watched, refreshes = [], [], 0
        for _ in range(args.rounds):
            alone.append(run_wrk(port, apikey, args, server.pid))
            stop = threading.Event()
            result: list[int] = []
            thread = threading.Thread(target=watch, args=(base, args.refresh, stop, result))
            thread.start()
            try:
                watched.append(run_wrk(port, apikey, args, server.pid))
            finally:
                stop.set()
                thread.join()
            refreshes += result[0] if result else 0
        for label, runs in (("alone", alone), ("with a dashboard refreshing", watched)):
            rates = ", ".join(f"{r['rps']:.0f}" for r in runs)
            p99 = max(r["p99"] for r in runs)
            print(f"  Submit {label}: {rates} /s (worst p99 {p99:.1f} ms)")
        ratio = sum(r["rps"] for r in watched) / sum(r["rps"] for r in alone)
        print(f"  ratio {ratio:.2f} (goal >= 0.90); {refreshes} refreshes of the 3 windows")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100, help="per page")
    parser.add_argument("--refresh", type=float, default=5.0, help="dashboard refresh (s)")
    parser.add_argument("--rounds", type=int, default=2, help="alone/watched pairs")
    parser.add_argument("-d", "--duration", type=int, default=10)
    parser.add_argument("-c", "--connections", type=int, default=50)
    parser.add_argument("-t", "--threads", type=int, default=1)
    args = parser.parse_args()
    targets = args.only or ["sqlite", "postgres"]
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in targets:
            url = f"sqlite:///{Path(tmp) / 'console.db'}"
            bench_store("SQLite (WAL, FULL)", url, Path(tmp), args)
        if "postgres" in targets:
            db = f"voiceotp_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(pg_database(True, db))
            try:
                url = f"postgresql://postgres@127.0.0.1:5432/{db}"
                bench_store("PostgreSQL", url, Path(tmp), args)
            finally:
                asyncio.run(pg_database(False, db))


if __name__ == "__main__":
    main()
