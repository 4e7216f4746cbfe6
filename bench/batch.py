"""Batch throughput and memory.

1. Throughput against a local HTTP server (separate process) that answers every Submit
   after a fixed latency (default 5 ms): the batch engine (AsyncClient + SQLite journal,
   fsync on every group commit) side by side with raw aiohttp sending the same forms at
   the same concurrency, and with a sequential loop like the seed's samples (one blocking
   request per number, a new connection each time, as PHP curl_init/curl_close does).
2. Peak RSS of a whole run over a 1,000,000-row CSV in a child process: streaming import
   into the journal, dedupe, then the engine sending every row through an in-process
   sender that answers code 2 at once (no network: this measures the batch's own memory),
   then the results file. Then the real ``voiceotp batch --dry-run`` on the same file
   (read, validate, journal, dedupe, count) in a child reporting its own peak RSS.

    .venv/bin/python bench/batch.py                               # defaults below
    .venv/bin/python bench/batch.py --rows 3000 --concurrency 1,10,50 --rounds 3 --rss-rows 1000000

"batch" is the default journal (fsync on every group commit); "no-fsync" is
``--no-fsync`` (WAL synchronous=NORMAL: still safe against a killed process). The
throughput part first fixes glibc's malloc thresholds for both sides (see
``steady_malloc``; ``--natural-malloc`` keeps the defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import aiohttp  # noqa: E402

from voiceotp.client import AsyncClient  # noqa: E402
from voiceotp.client.batch import (  # noqa: E402
    BatchEngine,
    BatchOptions,
    create_journal,
    pairs_to_rows,
    read_rows,
)
from voiceotp.client.batch.outputs import write_results  # noqa: E402
from voiceotp.protocol import SubmitResult, dynamic_password, render_xml  # noqa: E402

ACCOUNT, APIKEY = "V12345678", "0123456789abcdef0123456789abcdef"
BODY = render_xml(SubmitResult(2, "提交成功", "60495654"))
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
    + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
    + BODY
)


# ---- the server (child process) -------------------------------------------------------


class DelayedAnswer(asyncio.Protocol):
    """Answers each complete request with RESPONSE after ``latency`` seconds."""

    latency = 0.005

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""
        self.loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.loop.call_later(self.latency, self._answer, b"connection: close" in head)

    def _answer(self, close: bool) -> None:
        if not self.transport.is_closing():
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]
            if close:
                self.transport.close()


async def serve(latency: float) -> None:
    DelayedAnswer.latency = latency
    server = await asyncio.get_running_loop().create_server(DelayedAnswer, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, __file__, "--serve", str(latency)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, f"http://127.0.0.1:{int(proc.stdout.readline())}/webservice/voice.php"


# ---- throughput ---------------------------------------------------------------------


def mobiles(n: int, offset: int = 0) -> list[str]:
    return [f"13{offset % 10}{i:08d}" for i in range(n)]


def form_for(mobile: str, code: str) -> dict[str, str]:
    t = str(int(time.time()))
    password = dynamic_password(ACCOUNT, APIKEY, t, mobile=mobile, content=code)
    return {"account": ACCOUNT, "password": password, "mobile": mobile, "content": code, "time": t}


async def pool(concurrency: int, numbers: list[str], one: Callable[[str], Awaitable[None]]) -> None:
    queue = iter(numbers)

    async def worker() -> None:
        for mobile in queue:
            await one(mobile)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def raw_aiohttp(url: str, numbers: list[str], concurrency: int) -> float:
    connector = aiohttp.TCPConnector(limit=max(100, concurrency))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(mobile: str) -> None:
            form = form_for(mobile, "1234")
            async with session.post(url + "?method=Submit", data=form) as response:
                await response.read()

        start = time.perf_counter()
        await pool(concurrency, numbers, one)
        return len(numbers) / (time.perf_counter() - start)


async def engine_run(
    url: str, numbers: list[str], concurrency: int, tmp: Path, *, fsync: bool
) -> float:
    path = tmp / f"bench-{concurrency}-{time.monotonic_ns()}.journal"
    journal = create_journal(path, pairs_to_rows((m, "1234") for m in numbers), fsync=fsync)
    async with AsyncClient(ACCOUNT, APIKEY, base_url=url, limit=max(100, concurrency)) as client:
        options = BatchOptions(concurrency=concurrency, freeze_gc=True)  # as `voiceotp batch`
        engine = BatchEngine(journal, client, options)
        start = time.perf_counter()
        summary = await engine.run()
        elapsed = time.perf_counter() - start
    journal.close()
    assert summary.counts["sent"] == len(numbers), summary.counts  # type: ignore[index]
    return len(numbers) / elapsed


def sequential_loop(url: str, numbers: list[str]) -> float:
    start = time.perf_counter()
    for mobile in numbers:
        data = urllib.parse.urlencode(form_for(mobile, "1234")).encode()
        with urllib.request.urlopen(url + "?method=Submit", data, timeout=10) as response:
            response.read()
    return len(numbers) / (time.perf_counter() - start)


def rows_for(args: argparse.Namespace, concurrency: int) -> int:
    # Low concurrency is slow by nature: fewer rows keep every case to a few seconds.
    return min(args.rows, 400 * concurrency)


def steady_malloc() -> str:
    """Put glibc's allocator in one regime for the whole comparison.

    asyncio reads a socket into a fresh 256 KiB buffer. Depending on the heap's history,
    glibc serves that with mmap + mremap + munmap (three syscalls and a page fault per
    answer, ~20 us: strace -c shows ~33,000 of each for 30,000 requests) or from the
    heap, and a process can change regime half-way; that moved figures by +-5% from one
    invocation to the next. With fixed thresholds every read comes from the heap, for
    the raw sends and the batch alike (they share this process).
    """
    if not sys.platform.startswith("linux"):
        return "default allocator"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "default allocator (no mallopt)"
    m_trim_threshold, m_mmap_threshold = -1, -3
    if mallopt(m_mmap_threshold, 1 << 20) and mallopt(m_trim_threshold, 8 << 20):
        return "glibc mallopt: mmap threshold 1 MiB, trim threshold 8 MiB"
    return "default allocator (mallopt refused)"


def throughput(args: argparse.Namespace) -> None:
    if not args.natural_malloc:
        print(f"allocator: {steady_malloc()} (--natural-malloc to keep the defaults)")
    server, url = start_server(args.latency_ms / 1000)
    print(
        f"throughput: server latency {args.latency_ms} ms; median of {args.rounds} interleaved"
        " rounds; rows/s"
    )
    print(f"{'concurrency':>11} {'rows':>5} {'batch':>7} {'no-fsync':>8} {'raw':>7}  ratios")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for concurrency in args.concurrency:
                figures = one_concurrency(url, concurrency, rows_for(args, concurrency), args, tmp)
                batch, nosync, raw = (statistics.median(f) for f in figures)
                print(
                    f"{concurrency:>11} {rows_for(args, concurrency):>5} {batch:>7,.0f}"
                    f" {nosync:>8,.0f} {raw:>7,.0f}  {batch / raw:.2f} / {nosync / raw:.2f}"
                )
            seq = sequential_loop(url, mobiles(min(args.rows, 500), 2))
            print(f"sequential loop (seed style, new connection per request): {seq:,.0f} rows/s")
    finally:
        server.terminate()
        server.wait()


def one_concurrency(
    url: str, concurrency: int, rows: int, args: argparse.Namespace, tmp: str
) -> tuple[list[float], list[float], list[float]]:
    batch: list[float] = []
    nosync: list[float] = []
    raw: list[float] = []
    for round_ in range(args.rounds):
        numbers = mobiles(rows, round_)
        batch.append(asyncio.run(engine_run(url, numbers, concurrency, Path(tmp), fsync=True)))
        nosync.append(asyncio.run(engine_run(url, numbers, concurrency, Path(tmp), fsync=False)))
        raw.append(asyncio.run(raw_aiohttp(url, numbers, concurrency)))
    return batch, nosync, raw


# ---- memory -------------------------------------------------------------------------


ACCEPTED = SubmitResult(2, "提交成功", "60495654")


@dataclass(frozen=True, slots=True)
class Accepted:
    """A sender's report that never grows: code 2, one attempt."""

    result: SubmitResult = ACCEPTED
    error: None = None
    attempts: int = 1


class InstantSender:
    """Answers code 2 at once and remembers nothing (the batch's own memory is measured)."""

    _report = Accepted()

    async def submit(self, mobile: str, code: str, *, time: int | None = None) -> Accepted:
        await asyncio.sleep(0)
        return self._report


def write_big_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("mobile,code\n")
        for i in range(rows):
            # Every 50th row repeats an earlier number, so dedupe has work to do.
            n = i - 1 if i % 50 == 49 else i
            handle.write(f"1{3 + n % 7}{n:09d},{n % 9000 + 1000}\n")


def rss_child(source: str, tmp: str) -> None:
    """Import, send and write results for ``source``; print phases and peak RSS."""
    started = time.perf_counter()
    with open(source, encoding="utf-8", newline="") as stream:
        journal = create_journal(Path(tmp) / "big.journal", read_rows(stream))
    imported = time.perf_counter()
    engine = BatchEngine(journal, InstantSender(), BatchOptions(concurrency=50, freeze_gc=True))
    summary = asyncio.run(engine.run())
    sent = time.perf_counter()
    write_results(journal, Path(tmp) / "big.results.csv", show_numbers=False)
    done = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = {state.value: n for state, n in summary.counts.items() if n}
    print(f"  rows by state: {counts}")
    print(
        f"  import+dedupe {imported - started:.1f} s, send {sent - imported:.1f} s"
        f" ({summary.counts['sent'] / (sent - imported):,.0f} rows/s),"  # type: ignore[index]
        f" results file {done - sent:.1f} s"
    )
    print(f"  peak RSS: {peak_mb:.0f} MB")


def memory(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "big.csv"
        write_big_csv(source, args.rss_rows)
        size_mb = source.stat().st_size / 1e6
        print(f"memory: {args.rss_rows:,} rows ({size_mb:.0f} MB CSV), in-process instant sender")
        command = [sys.executable, __file__, "--rss-child", str(source), tmp]
        subprocess.run(command, check=True)
        cli_dry_run(source)


def cli_dry_run(source: Path) -> None:
    """The real command's dry run (read, validate, journal, dedupe, count) on the same file,
    in a child that reports its own peak RSS."""
    start = time.perf_counter()
    command = [sys.executable, __file__, "--cli-child", str(source)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    print(f"  `voiceotp batch --dry-run --no-balance`: {elapsed:.1f} s, {done.stdout.strip()}")


def cli_child(source: str) -> None:
    from voiceotp.cli import cli

    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            cli(["batch", source, "--dry-run", "--no-balance", "--json"])
        except SystemExit as exc:
            code = exc.code
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    doc = json.loads(out.getvalue())
    print(f"exit {code}, rows {doc['rows']:,}, to send {doc['to_send']:,},", end=" ")
    print(f"duplicates {doc['duplicates']:,}; peak RSS {peak_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--concurrency", type=lambda s: [int(c) for c in s.split(",")])
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rss-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--natural-malloc", action="store_true", help="see steady_malloc()")
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--cli-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
        return
    if args.rss_child:
        rss_child(*args.rss_child)
        return
    if args.cli_child:
        cli_child(args.cli_child)
        return
    args.concurrency = args.concurrency or [1, 10, 50]
    print("command: python " + " ".join(sys.argv))
    if not args.skip_throughput:
        throughput(args)
    if not args.skip_memory:
        memory(args)


if __name__ == "__main__":
    main()
