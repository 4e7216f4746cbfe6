"""Submit -> INVITE latency through the whole gateway, at a steady submit rate.

`voiceotp serve` runs as a subprocess (SQLite by default, SIP dialer, API + worker in one
process); this script submits codes over HTTP with AsyncClient at ``--rate`` per second
(open loop: each submit starts on schedule, whatever the previous ones do) and runs a UDP
"trunk" that answers every INVITE 486 Busy at once and notes when it arrived. Latency =
INVITE arrival - the moment the submit was started (HTTP, group commit + fsync, queue,
worker, prompt render, INVITE). Target: p99 <= 200 ms at 50 submits/s. Figures are noisy
on a shared machine: run once, read them as an order of magnitude.

    .venv/bin/python bench/delivery.py --rate 50 --seconds 20
    .venv/bin/python bench/delivery.py --database-url postgresql://postgres@127.0.0.1/test \
        --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from voiceotp.client import AsyncClient

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.integration.helpers import new_account, tone_clips

_URI = re.compile(rb"^INVITE sip:(\d+)@")


class BusyTrunk(asyncio.DatagramProtocol):
    """Answers INVITEs 486 at once; records the first arrival per number."""

    def __init__(self) -> None:
        self.invites: dict[str, float] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        match = _URI.match(data)
        if match is None or self.transport is None:
            return  # ACKs and anything else
        self.invites.setdefault(match.group(1).decode(), time.time())
        head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        keep = [h for h in head[1:] if h.split(b":", 1)[0].lower() in _ECHO]
        lines = [b"SIP/2.0 486 Busy Here"]
        lines += [h + b";tag=bench" if h.lower().startswith(b"to:") else h for h in keep]
        self.transport.sendto(b"\r\n".join([*lines, b"Content-Length: 0", b"", b""]), addr)


_ECHO = {b"via", b"from", b"to", b"call-id", b"cseq"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_env(args: argparse.Namespace, data: Path, trunk_port: int) -> dict[str, str]:
    delivery = {
        "dialer": "sip",
        "trunk": {"host": "127.0.0.1", "port": trunk_port},
        "prompt_dir": str(data / "clips"),
        "prompt_cache_dir": str(data / "cache"),
        "calls_per_s": args.rate * 2,
        "burst": 50,
        "max_concurrent": 500,
        "poll_s": 0.5,
        "run_notifier": False,
    }
    env = {**os.environ, "VOICEOTP_DEV_MODE": "1", "VOICEOTP_DATA_DIR": str(data)}
    # One account sending to many numbers in one prefix is what the abuse detectors
    # freeze; a load test is exactly that.
    env["VOICEOTP_ABUSE_DISTINCT_NUMBERS"] = env["VOICEOTP_ABUSE_PREFIX_BURST"] = "0"
    env["VOICEOTP_DELIVERY"] = json.dumps(delivery)
    env["PYTHONPATH"] = str(Path(__file__).parents[1] / "src")
    if args.database_url:
        env["VOICEOTP_DATABASE_URL"] = args.database_url
    if args.redis_url:  # jobs through Redis Streams instead of the store queue
        env["VOICEOTP_REDIS_URL"] = args.redis_url
        env["VOICEOTP_REDIS_PREFIX"] = f"voiceotp-bench-{os.getpid()}:"
    return env


async def submit_all(client: AsyncClient, rate: float, seconds: float) -> dict[str, float]:
    started: dict[str, float] = {}
    count, t0 = int(rate * seconds), time.monotonic()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        mobile = f"139{i:08d}"
        started[mobile] = time.time()
        await client.send(mobile, f"{1000 + i % 9000}")

    await asyncio.gather(*(one(i) for i in range(count)))
    return started


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    trunk = BusyTrunk()
    transport, _ = await loop.create_datagram_endpoint(lambda: trunk, ("127.0.0.1", 0))
    trunk_port = transport.get_extra_info("sockname")[1]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        tone_clips(data / "clips")
        env = gateway_env(args, data, trunk_port)
        from voiceotp.gateway.settings import Settings

        settings = Settings.load(None, env)
        key = await new_account(settings, balance=int(args.rate * args.seconds) + 10)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "voiceotp", "serve", "--port", str(port), "--no-access-log"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/webservice/voice.php"
            await wait_healthy(f"http://127.0.0.1:{port}/healthz")
            async with AsyncClient(key.account, key.apikey, base_url=url) as client:
                started = await submit_all(client, args.rate, args.seconds)
                await wait_invites(trunk, len(started), 30)
        finally:
            server.terminate()
            server.wait(30)
            transport.close()
            await drop_redis_keys(args.redis_url, env.get("VOICEOTP_REDIS_PREFIX", ""))
    report(args, started, trunk.invites)


async def drop_redis_keys(url: str, prefix: str) -> None:
    if not url:
        return
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def wait_healthy(url: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the gateway did not start")


async def wait_invites(trunk: BusyTrunk, expected: int, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while len(trunk.invites) < expected and time.monotonic() < end:
        await asyncio.sleep(0.1)


def report(args: argparse.Namespace, started: dict[str, float], invites: dict[str, float]) -> None:
    latencies = sorted((invites[m] - t) * 1000 for m, t in started.items() if m in invites)
    if not latencies:
        raise SystemExit("no INVITE arrived")

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    store = "PostgreSQL" if args.database_url else "SQLite (synchronous=FULL)"
    queue = "Redis Streams" if args.redis_url else "the store"
    print(f"submit -> INVITE at {args.rate}/s for {args.seconds} s, store {store}, queue {queue}")
    print(f"  submits {len(started)}, INVITEs {len(invites)}")
    print(
        f"  latency ms: p50 {pct(0.5):.1f}  p90 {pct(0.9):.1f}  p99 {pct(0.99):.1f}  "
        f"max {latencies[-1]:.1f}  mean {statistics.fmean(latencies):.1f}"
    )
    print(f"  target p99 <= 200 ms: {'met' if pct(0.99) <= 200 else 'NOT met'}")
    print(f"  command: .venv/bin/python {' '.join(sys.argv)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="", help="e.g. redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
