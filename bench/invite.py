"""Submit -> INVITE latency across the scale-out topology, at a fixed offered rate.

HAProxy (deploy/haproxy/haproxy.cfg) in front of `voiceotp serve --no-delivery` processes
(--api, default 2) on a PostgreSQL database of its own (on :5432) and a Redis prefix of its
own (on :6379); `voiceotp dialer` processes (--dialers, default 2) take the calls from the
Redis queue and dial a real sipp trunk (tests/delivery/dialer/scenarios/busy.xml: 100
Trying, 486 Busy, so no media and no redial: the figure is the pipeline's, not RTP's).
Submits are sent open-loop: request i is due at start + i/rate whatever the answers before
it (a late answer does not delay the next request), each with its own number. sipp's
message trace (-trace_msg, microsecond stamps on this machine's clock) gives each number's
INVITE arrival.

Printed per rate: Submits offered and accepted, the Submit's answer time (from when it
was due), answer -> INVITE and due -> INVITE (p50/p99/max in ms), accepted calls whose
INVITE never came, and the load average before and after (the machine is shared: with
other work on it the figures are noisy; run it on an idle box for the real ones).

    .venv/bin/python bench/invite.py                          # --rate 1000 -d 10
    .venv/bin/python bench/invite.py --sweep 100,250,500,1000 -d 5
    .venv/bin/python bench/invite.py --api 2 --dialers 6      # dialers ~4-4.5 ms CPU a call
    .venv/bin/python bench/invite.py --rate 50 -d 10 --profile /tmp/prof   # py-spy the dialers
    .venv/bin/python bench/spytop.py /tmp/prof/*.txt --self                # their top functions

Needs haproxy, sipp (Debian sip-tester), PostgreSQL on 127.0.0.1:5432, Redis on :6379;
--profile needs py-spy (`.venv/bin/pip install py-spy`: a tool, not a dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.delivery.dialer.sipp import Sipp
from tests.integration.helpers import tone_clips
from tests.integration.sipptrace import TraceReader

from bench.gateway import (
    ACCOUNT,
    free_port,
    pg_database,
    prepare_store,
    server_env,
    start,
)
from bench.scaleout import REDIS_URL, cpu_of, drop_keys, haproxy_config, start_haproxy, stop


@dataclass
class Sent:
    mobile: str
    due: float  # wall time the request was due (open loop)
    started: float  # when the client began sending it (late: the client fell behind)
    answered: float
    code: int | None  # None: no answer


def delivery_settings(tmp: Path, trunk_port: int) -> dict[str, Any]:
    """The SIP dialer on sipp, with trunk limits far above the offered rate."""
    return {
        "dialer": "sip",
        "trunk": {"host": "127.0.0.1", "port": trunk_port, "codecs": ["PCMU"]},
        "calls_per_s": 5000,
        "burst": 1000,
        "max_concurrent": 2000,
        "redial": {},
        "prompt_dir": str(tone_clips(tmp / "clips")),
        "prompt_cache_dir": str(tmp / "cache"),
        "prompt_repeat": 1,
    }


class Topology:
    """sipp, dialers, API processes and HAProxy; ``url`` is HAProxy's Submit URL."""

    def __init__(self, tmp: Path, database: str, apis: int, dialers: int, stack: ExitStack) -> None:
        extra = ["-timeout", "0"]  # serves calls until stopped
        self.trunk = Sipp("busy", tmp, calls=10**8, extra=extra)
        stack.callback(self.trunk.stop)
        self.trace = TraceReader(tmp / "sipp-busy-messages.log")
        self.tmp = tmp
        url = f"postgresql://postgres@127.0.0.1:5432/{database}"
        self.env = {
            **server_env(tmp, url),
            "VOICEOTP_REDIS_URL": REDIS_URL,
            "VOICEOTP_REDIS_PREFIX": f"voiceotp-bench-{database}:",
            "VOICEOTP_TRUSTED_PROXIES": "127.0.0.1/32",
            "VOICEOTP_DELIVERY": json.dumps(delivery_settings(tmp, self.trunk.port)),
        }
        self.apikey = asyncio.run(prepare_store(self.env))
        serve = [sys.executable, "-m", "voiceotp", "serve", "--no-access-log", "--no-delivery"]
        ports = [free_port() for _ in range(apis)]
        sipp = [self.trunk.process.pid]
        self.pids: dict[str, list[int]] = {"api": [], "dialer": [], "sipp": sipp}
        for port in ports:
            api = start([*serve, "--port", str(port)], self.env, port)
            stack.callback(stop, api)
            self.pids["api"].append(api.pid)
        for index in range(dialers):
            dialer = [sys.executable, "-m", "voiceotp", "dialer", "--name", f"bench-d{index}"]
            log = stack.enter_context((tmp / f"dialer{index}.log").open("ab"))
            process = subprocess.Popen(dialer, env=self.env, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(stop, process)
            self.pids["dialer"].append(process.pid)
        front = free_port()
        config = tmp / "haproxy.cfg"
        config.write_text(haproxy_config(front, free_port(), ports, tmp / "haproxy.sock"))
        stack.callback(stop, start_haproxy(config, front))
        self.url = f"http://127.0.0.1:{front}/webservice/voice.php?method=Submit&format=json"
        self.numbers = itertools.count(random.randrange(10**7, 5 * 10**7))  # one per Submit


async def offer(top: Topology, rate: float, seconds: float, connections: int) -> list[Sent]:
    """Open loop: every request on its due time, answered or not the ones before."""
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        begin = time.time() + 0.05
        tasks = []
        for i in range(total):
            due = begin + i / rate
            if (wait := due - time.time()) > 0:
                await asyncio.sleep(wait)
            mobile = f"139{next(top.numbers):08d}"
            tasks.append(asyncio.create_task(submit(session, top, mobile, due)))
        return list(await asyncio.gather(*tasks))


async def submit(session: aiohttp.ClientSession, top: Topology, mobile: str, due: float) -> Sent:
    body = f"account={ACCOUNT}&password={top.apikey}&mobile={mobile}&content=1125"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    code: int | None = None
    started = time.time()
    try:
        async with session.post(top.url, data=body.encode(), headers=headers) as answer:
            code = int((await answer.json(content_type=None))["code"])
    except (TimeoutError, aiohttp.ClientError, ValueError, KeyError):
        code = None
    return Sent(mobile, due, started, time.time(), code)


def arrivals(top: Topology, wanted: set[str], patience_s: float = 15.0) -> dict[str, float]:
    """Number -> when sipp received its first INVITE; waits (bounded) for every wanted."""
    end = time.monotonic() + patience_s
    seen: dict[str, float] = {}
    while True:
        for m in top.trace.read():
            if m.received and m.method == "INVITE" and m.user not in seen:
                seen[m.user] = m.at
        if wanted <= set(seen) or time.monotonic() > end:
            return seen
        time.sleep(0.2)


def ms(values: list[float]) -> str:
    if not values:
        return f"{'-':>8} {'-':>8} {'-':>8}"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(ordered) * 1e3:>8.1f} {p99 * 1e3:>8.1f} {ordered[-1] * 1e3:>8.1f}"


def measure(
    top: Topology, rate: float, seconds: float, connections: int, profile: Path | None = None
) -> str:
    load = os.getloadavg()[0]
    before = {part: cpu_of(pids) for part, pids in top.pids.items()}
    spies = spy_on(top.pids["dialer"], seconds, profile) if profile else []
    sent = asyncio.run(offer(top, rate, seconds, connections))
    for spy in spies:
        spy.wait()
    accepted = [s for s in sent if s.code == 2]
    invited = arrivals(top, {s.mobile for s in accepted})
    calls = max(len(accepted), 1)
    cpu = {part: (cpu_of(pids) - before[part]) / calls * 1e3 for part, pids in top.pids.items()}
    reached = [s for s in accepted if s.mobile in invited]
    spread = time.time() - sent[0].due
    late = sorted(s.started - s.due for s in sent)[int(len(sent) * 0.99)] * 1e3
    silent = sum(1 for s in sent if s.code is None)
    return (
        f"{rate:>6.0f} {late:>5.0f} {len(accepted):>7} {len(sent) - len(accepted) - silent:>5}"
        f" {silent:>5} "
        f"{ms([s.answered - s.due for s in accepted])}  "
        f"{ms([invited[s.mobile] - s.answered for s in reached])}  "
        f"{ms([invited[s.mobile] - s.due for s in reached])} "
        f"{len(accepted) - len(reached):>6} {load:>5.2f}/{os.getloadavg()[0]:<5.2f}"
        f" {cpu['api']:>5.2f} {cpu['dialer']:>5.2f} {cpu['sipp']:>5.2f}"
        + (f"  (run took {spread:.0f} s)" if spread > seconds + 20 else "")
        + (f"  ({errors} tracebacks in the dialers' logs)" if (errors := tracebacks(top)) else "")
    )


def spy_on(pids: list[int], seconds: float, out: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy (not a dependency: ``.venv/bin/pip install py-spy``) sampling each dialer
    for the run, collapsed stacks into ``out``/dialer<pid>.txt."""
    spy = Path(sys.executable).with_name("py-spy")
    out.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "250",
                "--format",
                "raw",
                "--nonblocking",
                "-o",
                str(out / f"dialer{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


def tracebacks(top: Topology) -> int:
    """Errors the dialers logged so far (a pool or a store that gave way under the load)."""
    logs = top.tmp.glob("dialer*.log")
    return sum(log.read_text(errors="replace").count("Traceback") for log in logs)


HEADER = (
    f"{'rate':>6} {'late':>5} {'code 2':>7} {'other':>5} {'none':>5} "
    f"{'Submit answer ms: p50':>26}  {'answer -> INVITE ms: p50':>26}  "
    f"{'due -> INVITE ms: p50':>26} {'no INV':>6} {'load1':>11} {'CPU ms/call':>17}\n"
    f"{'/s':>6} {'p99':>5} {'':>7} {'':>5} {'':>5} {'p50':>8} {'p99':>8} {'max':>8}  "
    f"{'p50':>8} {'p99':>8} {'max':>8}  {'p50':>8} {'p99':>8} {'max':>8}"
    f" {'':>6} {'before/after':>11} {'API':>5} {'dial':>5} {'sipp':>5}"
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=1000, help="Submits/s (default 1000)")
    parser.add_argument("--sweep", default="", help="rates to run in turn, e.g. 100,250,500")
    parser.add_argument("-d", "--duration", type=float, default=10, help="seconds per rate")
    parser.add_argument("-c", "--connections", type=int, default=200, help="client's pool")
    parser.add_argument("--api", type=int, default=2, help="API processes (default 2)")
    parser.add_argument("--dialers", type=int, default=2, help="dialer processes (default 2)")
    parser.add_argument(
        "--profile", type=Path, help="py-spy the dialers during the runs: stacks into this dir"
    )
    args = parser.parse_args()
    rates = [float(r) for r in args.sweep.split(",")] if args.sweep else [args.rate]
    database = f"voiceotp_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_database(True, database))
    lines = []
    try:
        with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
            top = Topology(Path(tmp), database, args.api, args.dialers, stack)
            measure(top, 50, 2, args.connections)  # warm-up: pools, caches, the trunk
            lines = [
                measure(top, rate, args.duration, args.connections, args.profile) for rate in rates
            ]
            drop_keys(top.env["VOICEOTP_REDIS_PREFIX"])
    finally:
        asyncio.run(pg_database(False, database))
    print(
        f"\nHAProxy + {args.api} x serve, {args.dialers} x dialer, sipp trunk (486); "
        "PostgreSQL + Redis; "
        f"open loop, {args.duration:g} s per rate; {os.cpu_count()} cores shared by all\n"
    )
    print(HEADER)
    print("\n".join(lines))
    print("\n'no INV': accepted calls whose INVITE sipp had not received 15 s after the run.")
    print("late p99: ms the client began a request after it was due (it fell behind if large);")
    print("other: answers other than code 2; none: no answer within 10 s (or a refused socket).")
    print("CPU ms/call: user+system CPU of all API processes, all dialers, sipp per code 2.")
    print("reproduce: .venv/bin/python bench/invite.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
