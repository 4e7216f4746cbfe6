"""Requests/s of AsyncClient vs raw aiohttp posting the same form, plus the sync Client.

The server runs in a separate process: a minimal asyncio HTTP/1.1 keep-alive server that
answers every request with a fixed SubmitResult XML, so it costs as little CPU as
possible and the client side is what is measured. Rounds are interleaved and the median
is printed, because the machine is shared and figures are noisy.

    .venv/bin/python bench/client.py                      # defaults: 9 rounds of 1 s per case
    .venv/bin/python bench/client.py --seconds 2 --rounds 15
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import aiohttp  # noqa: E402

from voiceotp.client import AsyncClient, Client  # noqa: E402
from voiceotp.protocol import SubmitResult, dynamic_password, render_xml  # noqa: E402

ACCOUNT, APIKEY, MOBILE, CODE = (
    "V12345678",
    "0123456789abcdef0123456789abcdef",
    "13800138000",
    "1234",
)
BODY = render_xml(SubmitResult(2, "提交成功", "60495654"))
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
    + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
    + BODY
)


# ---- the server (child process) -----------------------------------------------------


class FixedAnswer(asyncio.Protocol):
    """Answers each complete request (headers + Content-Length body) with RESPONSE."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FixedAnswer, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/webservice/voice.php"


# ---- the measured clients ------------------------------------------------------------


class Figure(NamedTuple):
    rate: float  # requests/s
    cpu_us: float  # this process's CPU time per request, microseconds


async def run_for(seconds: float, concurrency: int, one: Callable[[], Awaitable[object]]) -> Figure:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await one()
            done += 1

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Figure(done / elapsed, cpu / max(done, 1) * 1e6)


def submit_form() -> dict[str, str]:
    t = str(int(time.time()))
    return {
        "account": ACCOUNT,
        "password": dynamic_password(ACCOUNT, APIKEY, t, mobile=MOBILE, content=CODE),
        "mobile": MOBILE,
        "content": CODE,
        "time": t,
    }


async def raw_aiohttp(url: str, seconds: float, concurrency: int, encoded: bool) -> Figure:
    """aiohttp as a user would write it: ``data=form`` (dict), or the body pre-encoded."""
    submit_url = url + "?method=Submit"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

        async def one() -> bytes:
            form = submit_form()
            if encoded:
                data = urlencode(form).encode()
                async with session.post(submit_url, data=data, headers=headers) as response:
                    return await response.read()
            async with session.post(submit_url, data=form) as response:
                return await response.read()

        await run_for(0.2, concurrency, one)  # warm the pool
        return await run_for(seconds, concurrency, one)


async def async_client(url: str, seconds: float, concurrency: int) -> Figure:
    async with AsyncClient(ACCOUNT, APIKEY, base_url=url) as client:

        async def one() -> None:
            report = await client.submit(MOBILE, CODE)
            assert report.ok, report

        await run_for(0.2, concurrency, one)
        return await run_for(seconds, concurrency, one)


def sync_client(url: str, seconds: float) -> float:
    with Client(ACCOUNT, APIKEY, base_url=url) as client:
        done, deadline = 0, time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < deadline:
            client.send(MOBILE, CODE)
            done += 1
        return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve())
        return
    proc, url = start_server()
    try:
        report(url, args.seconds, args.rounds)
    finally:
        proc.terminate()
        proc.wait()


def median(figures: list[Figure]) -> Figure:
    return Figure(*(statistics.median(x) for x in zip(*figures, strict=True)))


def report(url: str, seconds: float, rounds: int) -> None:
    print(f"server: fixed SubmitResult over HTTP/1.1 keep-alive at {url} (separate process)")
    print(f"{rounds} interleaved rounds of {seconds:g} s; medians; cpus={os.cpu_count()}")
    print("raw dict = aiohttp post(data=form); raw bytes = body pre-encoded with urlencode")
    print("ratio = median over rounds of AsyncClient / the faster raw variant of that round")
    header = ("concurrency", "raw dict", "raw bytes", "AsyncClient", "ratio")
    print("{:>11} {:>9} {:>9} {:>11} {:>5}".format(*header))
    for concurrency in (1, 50):
        runs: dict[str, list[Figure]] = {"dict": [], "bytes": [], "ours": []}
        ratios = []
        for _ in range(rounds):  # back to back, so each round's ratio sees the same load
            runs["dict"].append(asyncio.run(raw_aiohttp(url, seconds, concurrency, False)))
            runs["bytes"].append(asyncio.run(raw_aiohttp(url, seconds, concurrency, True)))
            runs["ours"].append(asyncio.run(async_client(url, seconds, concurrency)))
            best_raw = max(runs["dict"][-1].rate, runs["bytes"][-1].rate)
            ratios.append(runs["ours"][-1].rate / best_raw)
        d, b, o = (median(runs[k]) for k in ("dict", "bytes", "ours"))
        print(
            f"{concurrency:>11} {d.rate:>9,.0f} {b.rate:>9,.0f} {o.rate:>11,.0f}"
            f" {statistics.median(ratios):>5.2f}"
        )
    sync = statistics.median(sync_client(url, seconds) for _ in range(rounds))
    print(f"sync Client (httpx2), concurrency 1: {sync:,.0f} requests/s")
    print("target: AsyncClient >= 0.8 x raw aiohttp at both concurrencies")
    print(f"reproduce: .venv/bin/python bench/client.py --seconds {seconds:g} --rounds {rounds}")


if __name__ == "__main__":
    main()
