"""Concurrent SIP calls with RTP held by one dialer process, against a real sipp.

sipp (Debian sip-tester) answers every call; one SipDialer places all calls from one
socket and one RTP pacer. With ``--media echo`` (default) sipp echoes our RTP back
(-rtp_echo), so the dialer also receives and counts 50 packets a second per call, as
from a real callee; with ``--media sink`` sipp only answers and its SDP sends our RTP to
a UDP sink process of this script (for when sipp's single echo thread is the limit).
Prints concurrency, RTP send lateness (send time minus each 20 ms packet's drift-free
due time, every packet), the dialer process's own CPU (getrusage of this process:
sipp and the sink are other processes) per call, dial() -> INVITE latency and the load
average. Figures are noisy on a shared machine.

    .venv/bin/python bench/dialer.py --calls 1000 --seconds 10 --ramp 5
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import gc
import math
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from voiceotp.delivery.dialer import CallOutcome, CallRequest, g711
from voiceotp.delivery.dialer.rtp import RtpPacer, calm_garbage_collector
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk

SCENARIO = Path(__file__).parent.parent / "tests/delivery/dialer/scenarios/answer.xml"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SINK = """
import signal, socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.bind(("127.0.0.1", int(sys.argv[1])))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(print(count, flush=True)))
count, buffer = 0, bytearray(2048)
while True:
    sock.recv_into(buffer)
    count += 1
"""


def start_sink(port: int) -> subprocess.Popen[bytes]:
    """A UDP sink for our RTP when sipp only answers: counts what arrives, prints it."""
    return subprocess.Popen([sys.executable, "-c", SINK, str(port)], stdout=subprocess.PIPE)


def srtp_scenario(workdir: Path) -> Path:
    """The answer scenario with RTP/SAVP and an SDES key in its SDP: the dialer then
    sends SRTP (sipp has no SRTP: the sink only counts it; an echo comes back under our
    own key, fails authentication and is dropped — the same work as decrypting it)."""
    key = base64.b64encode(secrets.token_bytes(30)).decode()
    text = SCENARIO.read_text().replace("RTP/AVP", "RTP/SAVP")
    rtpmap = "a=rtpmap:[$pt] [$codec]/8000"
    text = text.replace(rtpmap, f"{rtpmap}\n      a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}")
    path = workdir / "answer-srtp.xml"
    path.write_text(text)
    return path


def start_sipp(
    calls: int,
    workdir: Path,
    media_to: int | None,
    scenario: Path = SCENARIO,
    transport: str = "udp",
) -> tuple[subprocess.Popen[bytes], int]:
    """sipp answering ``calls`` calls; ``media_to`` None: it echoes RTP, else its SDP
    names that port (our sink) and it handles no media."""
    sipp = shutil.which("sipp")
    if sipp is None:
        sys.exit("sipp not found: apt-get install sip-tester")
    port = free_port(socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)
    media = free_port()
    args = [sipp, "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-mp", str(media)]
    args += ["-rtp_echo"] if media_to is None else []
    # -m: headroom, as sipp counts an INVITE retransmitted after its 200 (a starved
    # machine delays the 180 past T1) as a new call and would exit before our last calls
    args += ["-m", str(calls * 2), "-nostdin", "-timeout", "600", "-timeout_error"]
    args += ["-max_socket", str(max(calls * 2, 1000))]
    args += ["-set", "rtp_port", str(media if media_to is None else media_to)]
    args += ["-set", "pt", "0", "-set", "codec", "PCMU"]
    args += ["-trace_err", "-error_file", str(workdir / "sipp-errors.log")]
    args += ["-t", "t1"] if transport == "tcp" else []  # one connection from the dialer
    log = (workdir / "sipp.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_bound(port, "tcp" if transport == "tcp" else "udp")
    return process, port


def wait_bound(port: int, protocol: str, timeout_s: float = 20.0) -> None:
    """Until some process has ``port`` open (a loaded machine starts sipp slowly, and an
    INVITE sent before would be refused)."""
    needle, table = f":{port:04X} ", Path(f"/proc/net/{protocol}")
    deadline = time.monotonic() + timeout_s
    while needle not in table.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)


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


async def mark_steady(pacer: RtpPacer, args: argparse.Namespace, marks: list[int]) -> None:
    """How many packets had been sent when the last call had started (plus 0.5 s for its
    answer) and when the first one was about to end: between them no call set up or
    hung up, only RTP flowed."""
    await asyncio.sleep(args.ramp + 0.5)
    marks.append(len(pacer.lateness))
    await asyncio.sleep(max(0.0, args.seconds - args.ramp - 0.5))
    marks.append(len(pacer.lateness))


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


class GcPauses:
    """How long the garbage collector stopped the process, per generation."""

    def __init__(self) -> None:
        self.started = 0.0
        self.pauses: dict[int, list[float]] = collections.defaultdict(list)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self.started)

    def summary(self) -> str:
        return ", ".join(
            f"gen {gen}: {len(p)} x, longest {max(p) * 1000:.1f} ms"
            for gen, p in sorted(self.pauses.items())
        )


async def run(args: argparse.Namespace, sipp_port: int) -> None:
    pacer = RtpPacer(keep=args.calls * int(args.seconds * 50) + 1000)
    srtp = "require" if args.srtp else "off"
    trunk = SipTrunk(host="127.0.0.1", port=sipp_port, transport=args.transport, srtp=srtp)
    dialer = SipDialer(trunk, pacer=pacer)
    await dialer.start()
    audio = tone(args.seconds)
    if args.gc == "calm":
        calm_garbage_collector()  # as `voiceotp dialer` does after start-up
    peak, stop = [0, 0], asyncio.Event()
    watcher = asyncio.create_task(monitor(dialer, peak, stop))
    marks: list[int] = []
    marker = asyncio.create_task(mark_steady(pacer, args, marks))
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    results = await asyncio.gather(
        *(one_call(dialer, n, audio, n * args.ramp / args.calls) for n in range(args.calls))
    )
    wall = time.perf_counter() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    await watcher
    await marker
    await dialer.aclose()
    gc.callbacks.remove(pauses)
    print(f"garbage collections: {pauses.summary()}")
    user, system = cpu1.ru_utime - cpu0.ru_utime, cpu1.ru_stime - cpu0.ru_stime
    print(f"dialer CPU: user {user:.2f} s, system {system:.2f} s (loopback delivery counts here)")
    lateness = list(pacer.lateness)
    report(args, results, lateness, peak, user + system, wall)
    if len(marks) == 2 and marks[1] > marks[0]:
        steady = [x * 1000 for x in lateness[marks[0] : marks[1]]]
        print(
            f"  of which steady state ({len(steady)} packets, all calls up, none ending): "
            f"p50 {percentile(steady, 50):.2f}, p99 {percentile(steady, 99):.2f}, "
            f"max {max(steady):.2f}"
        )


def report(
    args: argparse.Namespace,
    results: list[tuple[float, CallOutcome]],
    lateness: list[float],
    peak: list[int],
    cpu: float,
    wall: float,
) -> None:
    statuses = collections.Counter(str(o.status) for _, o in results)
    failures = collections.Counter(
        o.detail.split(";")[0] for _, o in results if str(o.status) != "ANSWERED"
    )
    to_invite = [d * 1000 for d, _ in results]
    late_ms = [x * 1000 for x in lateness]
    print(
        f"calls: {args.calls}, audio {args.seconds:g} s each, ramp {args.ramp:g} s, "
        f"media {args.media}, loop {args.loop}, srtp {'on' if args.srtp else 'off'}"
    )
    print(f"outcomes: {dict(statuses)}")
    for detail, count in failures.most_common(3):
        print(f"  {count} x {detail}")
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
    streamed = len(late_ms) * 0.020  # seconds of audio sent, summed over calls
    print(
        f"CPU per second of one call's audio: {1000 * cpu / max(streamed, 1e-9):.3f} ms, "
        f"i.e. {cpu / max(streamed, 1e-9) * 1000:.2f} cores for 1,000 calls streaming "
        "(signalling included)"
    )
    print(
        f"CPU: {cpu:.2f} s over {wall:.1f} s wall = {100 * cpu / wall:.1f}% of one core; "
        f"{1000 * cpu / args.calls:.1f} ms CPU per call; "
        f"{100 * cpu / wall / max(peak[0], 1):.3f}% of a core per concurrent call"
    )
    print("load average (1/5/15 min) at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(
        f"reproduce: .venv/bin/python bench/dialer.py --calls {args.calls} "
        f"--seconds {args.seconds:g} --ramp {args.ramp:g} --media {args.media} "
        f"--loop {args.loop} --gc {args.gc} --transport {args.transport}"
        + (" --srtp" if args.srtp else "")
        + (f" --nice {args.nice}" if args.nice else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length per call")
    parser.add_argument("--ramp", type=float, default=2.0, help="spread call starts over this")
    parser.add_argument("--media", choices=["echo", "sink"], default="echo")
    parser.add_argument("--gc", choices=["calm", "default"], default="calm")
    parser.add_argument("--srtp", action="store_true", help="SRTP (SDES) on every call")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="uvloop")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="the dialer's niceness increment (root may give a negative one, as a media "
        "server's unit file would; on a loaded machine it measures our code, not our share)",
    )
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp", help="SIP over")
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 2 sockets per call
    loop_factory = None
    if args.loop == "uvloop":
        import uvloop  # uvicorn[standard] brings it

        loop_factory = uvloop.new_event_loop
    with tempfile.TemporaryDirectory(prefix="voiceotp-bench-") as tmp:
        sink_port = free_port() if args.media == "sink" else None
        sink = None if sink_port is None else start_sink(sink_port)
        scenario = srtp_scenario(Path(tmp)) if args.srtp else SCENARIO
        sipp, port = start_sipp(args.calls, Path(tmp), sink_port, scenario, args.transport)
        if args.nice:
            os.nice(args.nice)  # the dialer only: sipp and the sink keep theirs
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(run(args, port))
            errors = Path(tmp) / "sipp-errors.log"
            if errors.exists():
                print("sipp's first errors:", *errors.read_text().splitlines()[1:4], sep="\n  ")
        finally:
            for process in (sipp, sink):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(5)
        if sink is not None and sink.stdout is not None:
            print(f"sink received {sink.stdout.read().decode().strip()} RTP packets")


if __name__ == "__main__":
    main()
