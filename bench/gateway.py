"""Submit throughput and latency of one gateway process, SQLite and PostgreSQL, next to a
bare Starlette endpoint of the same stack answering a constant document.

Load comes from wrk in another process, with a Lua script that sends a distinct mobile
per request (so per-number caps never refuse) and counts code-2 answers; afterwards the
accepted calls are counted in the database (every code 2 must be a durable row).

    .venv/bin/python bench/gateway.py                  # everything, 10 s each
    .venv/bin/python bench/gateway.py --only sqlite -d 5 -c 50

Figures are only comparable on one machine; with other work on the box they are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voiceotp.protocol import (
    CONTENT_TYPES,
    Format,
    SubmitResult,
    decode_request,
    parse_urlencoded,
    render_result,
)

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ACCOUNT = "V00000001"
LUA = r"""
local threads = {}
function setup(thread) thread:set("id", #threads) table.insert(threads, thread) end
function init(args) base = tonumber(args[1]) counter = 0 ok = 0 other = 0 end
function request()
  counter = counter + 1
  local mobile = string.format("138%08d", (base + counter * 8 + id) % 100000000)
  local body = "account=@ACCOUNT@&password=@KEY@&mobile=" .. mobile .. "&content=1125"
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
function response(status, headers, body)
  if body:find("<code>2</code>", 1, true) then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local a, b = 0, 0
  for _, t in ipairs(threads) do a = a + t:get("ok") b = b + t:get("other") end
  io.write(string.format("CODES ok=%d other=%d\n", a, b))
end
"""


def bare_app() -> Starlette:
    """The same stack with no store: parse the request, answer a constant document."""
    answer = render_result(SubmitResult(2, "提交成功", "60495654"), Format.XML)

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        decode_request(parse_urlencoded(request.scope["query_string"]), parse_urlencoded(body))
        return Response(answer, headers={"content-type": CONTENT_TYPES[Format.XML]})

    return Starlette(routes=[Route("/webservice/voice.php", endpoint, methods=["GET", "POST"])])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DATA_DIR": str(data_dir),
        "VOICEOTP_DATABASE_URL": database_url,
        "VOICEOTP_ABUSE_DISTINCT_NUMBERS": "0",  # one account, many numbers: not abuse here
        "VOICEOTP_ABUSE_PREFIX_BURST": "0",
    }


async def prepare_store(env: dict[str, str]) -> str:
    """Migrate, create the bench account with a huge balance; its APIKEY."""
    from voiceotp.gateway.admin import Admin
    from voiceotp.gateway.settings import Settings
    from voiceotp.store import make_store
    from voiceotp.store.keys import KeyBox
    from voiceotp.store.migrate import upgrade_async

    settings = Settings.load(environ=env)
    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        admin = Admin(store, KeyBox(settings.secret_key), time.time)
        return (await admin.create_account(name=ACCOUNT, balance=10**9)).apikey
    finally:
        await store.close()


async def count_calls(env: dict[str, str]) -> int:
    from voiceotp.gateway.settings import Settings
    from voiceotp.store import make_store

    store = make_store(Settings.load(environ=env))
    await store.open()
    try:
        return await store.count_calls()
    finally:
        await store.close()


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # A connect is not enough: `voiceotp serve` listens before its app has started
        # (requests would wait in the backlog and time the start-up). Any answer will do.
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if sock.recv(16).startswith(b"HTTP/"):
                    return process
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start: {shlex.join(command)}")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process so far (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(port: int, apikey: str, args: argparse.Namespace, server_pid: int) -> dict[str, Any]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(LUA.replace("@ACCOUNT@", ACCOUNT).replace("@KEY@", apikey))
    url = f"http://127.0.0.1:{port}/webservice/voice.php?method=Submit"
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    command += ["--latency", "-s", str(script), url, "--", str(random.randrange(10**8))]
    cpu_before = cpu_seconds(server_pid)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu_after = cpu_seconds(server_pid)
    script.unlink()
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    cpu_us = None
    if cpu_before is not None and cpu_after is not None and requests:
        cpu_us = (cpu_after - cpu_before) / requests * 1e6
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50": _latency(output, "50%"),
        "p99": _latency(output, "99%"),
        "ok": int(re.search(r"CODES ok=(\d+)", output).group(1)),  # type: ignore[union-attr]
        "other": int(re.search(r"other=(\d+)", output).group(1)),  # type: ignore[union-attr]
        "errors": "Socket errors" in output or "Non-2xx" in output,
        "command": shlex.join(command),
        "cpu_us": cpu_us,
    }


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def bench_gateway(
    name: str,
    database_url: str,
    data_dir: Path,
    args: argparse.Namespace,
    synchronous: str = "FULL",
) -> dict[str, Any]:
    env = {**server_env(data_dir, database_url), "VOICEOTP_SQLITE_SYNCHRONOUS": synchronous}
    apikey = asyncio.run(prepare_store(env))
    port = free_port()
    command = [sys.executable, "-m", "voiceotp", "serve", "--no-access-log", "--port", str(port)]
    server = start(command, env, port)
    try:
        result = run_wrk(port, apikey, args, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result["stored"] = asyncio.run(count_calls(env))
    result["name"] = name
    return result


def bench_bare(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.gateway:bare_app"]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    server = start(command, env, port)
    try:
        result = run_wrk(port, "0" * 32, args, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {**result, "name": "bare Starlette, constant answer", "stored": None}


async def pg_database(create: bool, name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        sql = f'CREATE DATABASE "{name}"' if create else f'DROP DATABASE "{name}" WITH (FORCE)'
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", choices=["bare", "sqlite", "postgres"], action="append")
    parser.add_argument("-d", "--duration", type=int, default=10)
    parser.add_argument("-c", "--connections", type=int, default=50)
    parser.add_argument("-t", "--threads", type=int, default=1)
    args = parser.parse_args()
    targets = args.only or ["bare", "sqlite", "postgres"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if "bare" in targets:
            results.append(bench_bare(args))
        if "sqlite" in targets:
            for mode in ("FULL", "NORMAL"):
                url = f"sqlite:///{Path(tmp) / f'bench-{mode}.db'}"
                name = f"gateway Submit, SQLite (WAL, {mode})"
                results.append(bench_gateway(name, url, Path(tmp), args, synchronous=mode))
        if "postgres" in targets:
            db = f"voiceotp_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(pg_database(True, db))
            try:
                url = f"postgresql://postgres@127.0.0.1:5432/{db}"
                results.append(bench_gateway("gateway Submit, PostgreSQL", url, Path(tmp), args))
            finally:
                asyncio.run(pg_database(False, db))
    print_table(results, args)


def print_table(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\none process each; wrk -t{args.threads} -c{args.connections} -d{args.duration}s\n")
    print(
        f"{'stack':42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'code 2':>9} {'stored':>9}"
        f" {'server CPU us/req':>18}"
    )
    for r in results:
        stored = "-" if r["stored"] is None else str(r["stored"])
        cpu = "-" if r["cpu_us"] is None else f"{r['cpu_us']:.0f}"
        print(
            f"{r['name']:42} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
            f"{r['ok']:>9} {stored:>9} {cpu:>18}"
            + ("  (socket errors/non-2xx!)" if r["errors"] else "")
        )
    print("\n'stored' counts rows after the run: it may exceed 'code 2' by the requests still in")
    print("flight when wrk stopped (answered after wrk stopped counting).")
    print("reproduce: .venv/bin/python bench/gateway.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
