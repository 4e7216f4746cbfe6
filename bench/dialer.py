"""Concurrent SIP calls with RTP held by one dialer process, against a real sipp.

sipp (Debian sip-tester) answers every call and echoes our RTP back (-rtp_echo); one
SipDialer places all calls from one socket and one RTP pacer. Prints concurrency, RTP
send lateness (how late each 20 ms packet left against its drift-free schedule), CPU
per call and dial() -> INVITE latency. Figures are noisy on a shared machine.

    .venv/bin/python bench/dialer.py --calls 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import math
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from voiceotp.delivery.dialer import CallOutcome, CallRequest, g711
from voiceotp.delivery.dialer.rtp import RtpPacer
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk

SCENARIO = Path(__file__).parent.parent / "tests/delivery/dialer/scenarios/answer.xml"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sipp(
    calls: int, workdir: Path, transport: str = "udp"
) -> tuple[subprocess.Popen[bytes], int]:
    sipp = shutil.which("sipp")
    if sipp is None:
        sys.exit("sipp not found: apt-get install sip-tester")
    port = free_port(socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)
    media = free_port()
    args = [sipp, "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(port), "-mp", str(media)]
    args += ["-rtp_echo", "-m", str(calls), "-nostdin", "-timeout", "600", "-timeout_error"]
    args += ["-set", "rtp_port", str(media), "-set", "pt", "0", "-set", "codec", "PCMU"]
    args += ["-trace_err", "-error_file", str(workdir / "sipp-errors.log")]
    args += ["-t", "t1"] if transport == "tcp" else []  # one connection from the dialer
    log = (workdir / "sipp.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    time.sleep(0.5)
    return process, port


def tone(seconds: float) -> bytes:
    samples = [
        int(8000 * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(int(seconds * 8000))
    ]
    return g711.encode("PCMU", samples)


async def monitor(dialer: SipDialer, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], dialer.pacer.active_streams)
        peak[1] = max(peak[1], dialer.active_calls)
        await asyncio.sleep(0.05)


async def one_call(
    dialer: SipDialer, n: int, audio: bytes, delay: float
) -> tuple[float, CallOutcome]:
    await asyncio.sleep(delay)
    called = time.time()
    request = CallRequest(f"bench-{n}", f"1380000{n:04d}", {"PCMU": audio}, max_duration_s=120)
    outcome = await dialer.dial(request)
    return (outcome.invite_at or called) - called, outcome


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else math.nan


async def run(args: argparse.Namespace, sipp_port: int) -> None:
    pacer = RtpPacer(keep=args.calls * int(args.seconds * 50) + 1000)
    trunk = SipTrunk(host="127.0.0.1", port=sipp_port, transport=args.transport)
    dialer = SipDialer(trunk, pacer=pacer)
    await dialer.start()
    audio = tone(args.seconds)
    peak, stop = [0, 0], asyncio.Event()
    watcher = asyncio.create_task(monitor(dialer, peak, stop))
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    results = await asyncio.gather(
        *(one_call(dialer, n, audio, n * args.ramp / args.calls) for n in range(args.calls))
    )
    wall = time.perf_counter() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    await watcher
    await dialer.aclose()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    report(args, results, list(pacer.lateness), peak, cpu, wall)


def report(
    args: argparse.Namespace,
    results: list[tuple[float, CallOutcome]],
    lateness: list[float],
    peak: list[int],
    cpu: float,
    wall: float,
) -> None:
    statuses = collections.Counter(str(o.status) for _, o in results)
    to_invite = [d * 1000 for d, _ in results]
    late_ms = [x * 1000 for x in lateness]
    print(f"calls: {args.calls}, audio {args.seconds:.0f} s each, ramp {args.ramp:.0f} s")
    print(f"outcomes: {dict(statuses)}")
    print(f"peak concurrent calls: {peak[1]}, peak concurrent RTP streams: {peak[0]}")
    print(f"RTP packets sent: {len(late_ms)}")
    print(
        "RTP send lateness ms: "
        f"p50 {percentile(late_ms, 50):.2f}, p99 {percentile(late_ms, 99):.2f}, "
        f"p99.9 {percentile(late_ms, 99.9):.2f}, max {max(late_ms, default=math.nan):.2f}, "
        f"mean {statistics.fmean(late_ms) if late_ms else math.nan:.2f}"
    )
    p50, p99 = percentile(to_invite, 50), percentile(to_invite, 99)
    print(f"dial() -> INVITE ms: p50 {p50:.2f}, p99 {p99:.2f}")
    print(
        f"CPU: {cpu:.2f} s over {wall:.1f} s wall = {100 * cpu / wall:.1f}% of one core; "
        f"{1000 * cpu / args.calls:.1f} ms CPU per call; "
        f"{100 * cpu / wall / max(peak[0], 1):.3f}% of a core per concurrent call"
    )
    print(
        f"reproduce: .venv/bin/python bench/dialer.py --calls {args.calls} "
        f"--seconds {args.seconds:g} --ramp {args.ramp:g} --transport {args.transport}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length per call")
    parser.add_argument("--ramp", type=float, default=2.0, help="spread call starts over this")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp", help="SIP over")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voiceotp-bench-") as tmp:
        sipp, port = start_sipp(args.calls, Path(tmp), args.transport)
        try:
            asyncio.run(run(args, port))
            code = sipp.wait(60)
            print(f"sipp exit code: {code} (0: every call completed its scenario)")
        finally:
            if sipp.poll() is None:
                sipp.terminate()
                sipp.wait(5)


if __name__ == "__main__":
    main()
