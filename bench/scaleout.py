"""Submit throughput of the scale-out topology, and where its CPU goes (docs/deploy.md).

HAProxy (deploy/haproxy/haproxy.cfg, ports replaced) in front of N `voiceotp serve
--no-delivery` processes on a PostgreSQL database of its own and a Redis prefix of its
own; or, with --workers, one `voiceotp serve --workers N` on one port without HAProxy.
wrk sends distinct mobiles (caps never refuse), 2 s to warm up, then the measured run;
afterwards every code 2 is looked for in the database ('stored' less the warm-up's code 2s:
it may exceed 'code 2' by what was in flight when wrk stopped). CPU is read from /proc
for each part: the API processes, HAProxy, and the PostgreSQL backends serving this
database (its WAL writer and checkpointer are shared with the rest of the server and not
counted; nor is Redis, also shared).

    .venv/bin/python bench/scaleout.py                     # 2 API processes, 10 s, c50
    .venv/bin/python bench/scaleout.py --api 1 -c 16
    .venv/bin/python bench/scaleout.py --workers -d 5

Needs haproxy (Debian's), wrk, PostgreSQL on 127.0.0.1:5432 and Redis on :6379. Figures
are only comparable on one machine; with other work on the box they are noisy. The time
from a Submit to its INVITE at a trunk, through dialers too, is bench/invite.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.gateway import (
    ACCOUNT,
    LUA,
    _latency,
    count_calls,
    cpu_seconds,
    free_port,
    pg_database,
    prepare_store,
    server_env,
    start,
)

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = "redis://127.0.0.1:6379/0"


def haproxy_config(front: int, stats: int, api_ports: list[int], socket_path: Path) -> str:
    """The kit's config with this run's ports (and a stats socket in the temp dir)."""
    text = (ROOT / "deploy" / "haproxy" / "haproxy.cfg").read_text()
    text = text.replace("bind 0.0.0.0:8080", f"bind 127.0.0.1:{front}")
    text = text.replace("bind 127.0.0.1:8404", f"bind 127.0.0.1:{stats}")
    text = text.replace("/run/haproxy/voiceotp.sock", str(socket_path))
    text = text.replace("log stdout format raw local0 info", "")
    servers = "".join(
        f"    server api{i + 1} 127.0.0.1:{port} check\n" for i, port in enumerate(api_ports)
    )
    return re.sub(r"(    server api\d+ 127\.0\.0\.1:\d+ check\n)+", servers, text)


def start_haproxy(config: Path, front: int) -> subprocess.Popen[bytes]:
    command = ["haproxy", "-W", "-db", "-f", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    return start_wait(process, front)


def start_wait(process: subprocess.Popen[bytes], port: int) -> subprocess.Popen[bytes]:
    """Wait until ``port`` answers /healthz with 200 (HAProxy: once a server is up)."""
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if b" 200" in sock.recv(16):
                    return process
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"nothing answers on {port}")


async def backend_pids(database: str) -> list[int]:
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
        return [int(r["pid"]) for r in rows]
    finally:
        await conn.close()


def tree(pid: int) -> list[int]:
    """``pid`` and its children (the workers of `serve --workers`)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(c for child in children for c in tree(int(child)))]


def cpu_of(pids: list[int]) -> float:
    return sum(cpu_seconds(p) or 0.0 for p in pids)


def run(args: argparse.Namespace, tmp: Path, database: str) -> dict[str, Any]:
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    env = {
        **server_env(tmp, url),
        "VOICEOTP_REDIS_URL": REDIS_URL,
        "VOICEOTP_REDIS_PREFIX": f"voiceotp-bench-{database}:",
        "VOICEOTP_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    apikey = asyncio.run(prepare_store(env))
    serve = [sys.executable, "-m", "voiceotp", "serve", "--no-access-log", "--no-delivery"]
    with ExitStack() as stack:
        api: list[subprocess.Popen[bytes]] = []
        haproxy = None
        if args.workers:
            front = free_port()
            command = [*serve, "--port", str(front), "--workers", str(args.api)]
            api.append(start(command, env, front))
            stack.callback(stop, api[-1])
        else:
            ports = [free_port() for _ in range(args.api)]
            for port in ports:
                api.append(start([*serve, "--port", str(port)], env, port))
                stack.callback(stop, api[-1])
            front, stats = free_port(), free_port()
            config = tmp / "haproxy.cfg"
            config.write_text(haproxy_config(front, stats, ports, tmp / "haproxy.sock"))
            haproxy = start_haproxy(config, front)
            stack.callback(stop, haproxy)
        # A short run first, so the store pools have their connections (whose backends
        # are counted) and the caches are warm.
        warm = run_wrk(front, apikey, argparse.Namespace(**{**vars(args), "duration": 2}))
        api_pids = [p for process in api for p in tree(process.pid)]
        proxy_pids = tree(haproxy.pid) if haproxy else []
        pg_pids = asyncio.run(backend_pids(database))
        before = [cpu_of(api_pids), cpu_of(proxy_pids), cpu_of(pg_pids)]
        result = run_wrk(front, apikey, args)
        after = [cpu_of(api_pids), cpu_of(proxy_pids), cpu_of(pg_pids)]
    result["stored"] = asyncio.run(count_calls(env)) - warm["ok"]
    drop_keys(env["VOICEOTP_REDIS_PREFIX"])
    requests = max(result["requests"], 1)
    api_us, proxy_us, pg_us = ((a - b) / requests * 1e6 for a, b in zip(after, before, strict=True))
    result.update(api_us=api_us, proxy_us=proxy_us, pg_us=pg_us)
    return result


def drop_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_wrk(port: int, apikey: str, args: argparse.Namespace) -> dict[str, Any]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(LUA.replace("@ACCOUNT@", ACCOUNT).replace("@KEY@", apikey))
    url = f"http://127.0.0.1:{port}/webservice/voice.php?method=Submit"
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    command += ["--latency", "-s", str(script), url, "--", str(random.randrange(10**8))]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    script.unlink()

    def number(pattern: str) -> float:
        found = re.search(pattern, output)
        assert found is not None, output
        return float(found.group(1))

    return {
        "requests": int(number(r"(\d+) requests in")),
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "p50": _latency(output, "50%"),
        "p99": _latency(output, "99%"),
        "ok": int(number(r"CODES ok=(\d+)")),
        "other": int(number(r"other=(\d+)")),
        "errors": "Socket errors" in output or "Non-2xx" in output,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--api", type=int, default=2, help="API processes (default 2)")
    parser.add_argument(
        "--workers", action="store_true", help="one `serve --workers N` instead of HAProxy"
    )
    parser.add_argument("-d", "--duration", type=int, default=10)
    parser.add_argument("-c", "--connections", type=int, default=50)
    parser.add_argument("-t", "--threads", type=int, default=1)
    args = parser.parse_args()
    database = f"voiceotp_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_database(True, database))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            r = run(args, Path(tmp), database)
    finally:
        asyncio.run(pg_database(False, database))
    how = f"serve --workers {args.api}" if args.workers else f"HAProxy + {args.api} x serve"
    print(f"\n{how}; PostgreSQL + Redis; wrk -t{args.threads} -c{args.connections} "
          f"-d{args.duration}s; {os.cpu_count()} cores shared by everything\n")  # fmt: skip
    print(f"{'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'code 2':>8} {'stored':>8}"
          f" {'CPU us/Submit: API':>19} {'HAProxy':>8} {'PostgreSQL':>11}")  # fmt: skip
    print(
        f"{r['rps']:>8.0f} {r['p50']:>7.2f} {r['p99']:>7.2f} {r['ok']:>8} {r['stored']:>8}"
        f" {r['api_us']:>19.0f} {r['proxy_us']:>8.0f} {r['pg_us']:>11.0f}"
        + ("  (socket errors/non-2xx!)" if r["errors"] else "")
    )
    print("\nPostgreSQL: the backends of this database only (not the WAL writer/checkpointer).")
    print("reproduce: .venv/bin/python bench/scaleout.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
