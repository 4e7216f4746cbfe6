"""Voice notification latency, for a ~120-character notice, cold and cached: from the
Submit to the moment the dialer holds the notice's audio (G.711, ready to stream), or
with ``--sip`` to the first RTP packet of the call arriving at the callee.

One process, real pieces: the Submit goes through the gateway's ASGI app (real SQLite
store, group commit, WAL flush), the dial worker claims the call through the store's
fence, renders the notice (real espeak-ng, pinyin, soxr) off the loop and hands it to
a dialer.

- default: the dialer only notes the time and answers at once;
- ``--sip``: the real SipDialer calls a real sipp UAS (Debian sip-tester) on loopback
  that answers at once (180 + 200 OK with SDP); the SDP names a UDP socket this script
  owns as the callee's media address, and a thread blocked on it stamps the arrival of
  the call's first RTP packet. Each call is capped at 0.5 s of audio, then BYE.

Kinds of notice:
- cold: a new renderer and an empty cache directory (every part goes to espeak-ng; the
  process has warmed up as a gateway does at start: libespeak-ng's voice is loaded);
- cached: the template's fixed parts are cached, the variables' values are new;
- repeat: the same notice again (a redial: the values are rendered again, as nothing
  of them is kept — docs/privacy.md).

    .venv/bin/python bench/notify.py                 # 10 notices of each kind
    .venv/bin/python bench/notify.py --runs 30
    .venv/bin/python bench/notify.py --sip --runs 20 # Submit -> first RTP packet
    .venv/bin/python bench/notify.py --sip --program # espeak-ng processes, not the library
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TEMPLATE = (
    "尊敬的{name:8}客户您好,您尾号{card_no:4}的账户于{when:16}消费{amount:16},当前余额"
    "{balance:16}。如非本人操作,请立即致电客服热线冻结账户。您的快递已由顺丰速运发出,"
    "运单号{tracking_no:16},预计明天送达,请保持电话畅通。"
)


def notice(i: int) -> str:
    values = {
        "name": "张" + "一二三四五六七八九十"[i % 10] + "先生",
        "card_no": f"{8800 + i:04d}",
        "when": f"12月{1 + i % 28}日 18:{i % 60:02d}",
        "amount": f"{1000 + 37 * i:,}.50元",
        "balance": f"{32000 + i:,}元",
        "tracking_no": f"SF{1234567890 + i}",
    }
    text = TEMPLATE
    for name, value in values.items():
        head, _, rest = text.partition("{" + name)
        text = head + value + rest.partition("}")[2]
    return text


@dataclasses.dataclass
class Timer:
    dialed_at: float = 0.0


class NotingDialer:
    """Notes when it got the call (with its audio) and answers at once."""

    name = "bench"

    def __init__(self, timer: Timer) -> None:
        self.timer = timer

    async def dial(self, call: Any) -> Any:
        from voiceotp.delivery.dialer.base import CallOutcome, CallStatus

        assert call.audio["PCMU"]
        self.timer.dialed_at = time.perf_counter()
        now = time.time()
        return CallOutcome(CallStatus.ANSWERED, 200, 16, now, now, now, now, 0.0)

    async def aclose(self) -> None:
        return None


class StampedDialer:
    """Notes when the worker hands the call (with its audio) to ``inner``."""

    def __init__(self, inner: Any, timer: Timer) -> None:
        self.inner, self.timer, self.name = inner, timer, inner.name

    async def dial(self, call: Any) -> Any:
        self.timer.dialed_at = time.perf_counter()
        return await self.inner.dial(call)

    async def aclose(self) -> None:
        await self.inner.aclose()


class RtpSink:
    """The callee's media address: a UDP socket whose thread stamps every packet's arrival
    (perf_counter), independent of the event loop that dials."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.arrivals: list[float] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(2048)
            except OSError:
                return
            if len(data) >= 12 and data[0] >> 6 == 2:  # RTP version 2
                self.arrivals.append(time.perf_counter())

    def first_after(self, started: float) -> float:
        return min(t for t in self.arrivals if t >= started)

    def close(self) -> None:
        self.sock.close()


def start_sipp(calls: int, media_port: int, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A sipp UAS answering ``calls`` calls at once, its SDP naming ``media_port``."""
    sipp = shutil.which("sipp")
    if sipp is None:
        sys.exit("sipp not found: apt-get install sip-tester")
    scenario = Path(__file__).parent.parent / "tests/delivery/dialer/scenarios/answer.xml"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    args = [sipp, "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port)]
    args += ["-m", str(calls), "-nostdin", "-timeout", "600", "-timeout_error"]
    args += ["-set", "rtp_port", str(media_port), "-set", "pt", "0", "-set", "codec", "PCMU"]
    log = (workdir / "sipp.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    time.sleep(0.5)  # sipp binds its port (a bench script, not a test)
    if process.poll() is not None:
        sys.exit((workdir / "sipp.log").read_text())
    return process, port


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    from voiceotp.delivery.audio import PromptLibrary
    from voiceotp.delivery.fence import SqlFence
    from voiceotp.delivery.queue import Job, MemoryQueue
    from voiceotp.delivery.queue.worker import DialWorker, WorkerSettings
    from voiceotp.gateway import create_app
    from voiceotp.gateway.settings import NumberCaps, Settings
    from voiceotp.gateway.submit.notifyconf import NotifySettings
    from voiceotp.store.migrate import upgrade_async

    settings = Settings.load(
        environ={}, dev_mode=True, data_dir=data_dir, caps=NumberCaps(0, 0, 0),
        notify=NotifySettings(quiet_hours=""), abuse_distinct_numbers=0,
    )  # fmt: skip
    await upgrade_async(settings.effective_database_url)
    app = create_app(settings, migrate=False)
    async with app.router.lifespan_context(app):
        gw = app.state.gateway
        key = await gw.admin.create_account(balance=10**6)
        account = await gw.store.get_account(key.account)
        filed = await gw.templates.file(account.id, TEMPLATE, by="bench")
        await gw.templates.decide(filed.id, approve=True, by="bench")
        timer, queue = Timer(), MemoryQueue()
        gw.on_accepted = lambda voiceid, deadline, nb: queue.enqueue(Job(voiceid, deadline))
        sink, sipp, dialer = None, None, NotingDialer(timer)
        if args.sip:
            from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk

            sink = RtpSink()
            sipp, port = start_sipp(3 * args.runs, sink.port, data_dir)
            sip = SipDialer(SipTrunk(host="127.0.0.1", port=port, codecs=("PCMU",)))
            await sip.start()  # as the runtime does before the first call
            dialer = StampedDialer(sip, timer)
        worker_settings = WorkerSettings(name="bench", max_duration_s=0.5)

        from voiceotp.delivery.audio.prompts import run_espeak

        def program(argv: Any) -> bytes:  # not run_espeak itself: no in-process library
            return run_espeak(argv)

        def worker(cache: Path) -> DialWorker:
            voice = program if args.program else run_espeak
            return DialWorker(
                queue=queue, fence=SqlFence(gw.store), dialer=dialer,
                prompts=PromptLibrary(cache_dir=cache, runner=voice), settings=worker_settings,
            )  # fmt: skip

        async def one(w: DialWorker, text: str, mobile: str) -> tuple[float, ...]:
            """ms from the Submit to: its answer, the audio at the dialer, the first RTP."""
            form = f"account={key.account}&password={key.apikey}&mobile={mobile}"
            body = (form + "&content=").encode() + text.encode()
            started = time.perf_counter()
            answer = await call(app, body)
            answered = time.perf_counter()
            assert b"<code>2</code>" in answer, answer.decode()
            [delivery] = await queue.receive("bench", count=1, block_s=0)
            await w.process(delivery)
            stages = [answered, timer.dialed_at]
            if sink is not None:
                ended = await gw.store.get_call(delivery.job.call_id)
                assert ended is not None, delivery.job.call_id
                assert ended.state == "ANSWERED", ended  # the real call was placed and answered
                stages.append(sink.first_after(started))
            return tuple((t - started) * 1000 for t in stages)

        # As the runtime does at start: the code prompts and the voice data (not a notice).
        await asyncio.to_thread(PromptLibrary(cache_dir=data_dir / "warm").warm, ["zh"])
        what = "first RTP packet at the callee" if args.sip else "audio at the dialer"
        print(f"notice: {len(notice(0))} characters, template {len(TEMPLATE)}")
        cold, cached, repeat = [], [], []
        for i in range(args.runs):
            fresh = worker(data_dir / f"cache-{i}")  # a new renderer, an empty cache
            cold.append(await one(fresh, notice(i), f"138{i:08d}"))
            cached.append(await one(fresh, notice(i + 1000), f"139{i:08d}"))
            repeat.append(await one(fresh, notice(i + 1000), f"137{i:08d}"))
        for label, runs in (("cold", cold), ("cached", cached), ("repeat", repeat)):
            figures = [r[-1] for r in runs]
            print(
                f"{label:7} Submit -> {what}: p50 {statistics.median(figures):6.1f} ms"
                f"  p99 {percentile(figures, 99):6.1f}  min {min(figures):6.1f}"
                f"  max {max(figures):6.1f}  (n={len(figures)})"
            )
            parts = ["Submit answered", "audio at the dialer", "first RTP"][: len(runs[0])]
            medians = [statistics.median(r[k] for r in runs) for k in range(len(parts))]
            print("        p50 by stage: " + ", ".join(
                f"{name} {ms:.1f} ms" for name, ms in zip(parts, medians, strict=True)
            ))  # fmt: skip
        if args.sip:
            await dialer.aclose()
            assert sipp is not None
            assert sink is not None
            print(f"sipp exit code: {sipp.wait(30)} (0: every call completed its scenario)")
            sink.close()


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: with fewer than 100 values, p99 is the maximum."""
    ranked = sorted(values)
    rank = -(-len(ranked) * p // 100)  # ceil
    return ranked[int(min(len(ranked), max(1, rank))) - 1]


async def call(app: Any, body: bytes) -> bytes:
    sent: list[bytes] = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/vm/webservice/voice.php",
        "raw_path": b"/vm/webservice/voice.php", "root_path": "",
        "query_string": b"method=Submit",
        "headers": [(b"host", b"127.0.0.1"),
                    (b"content-type", b"application/x-www-form-urlencoded; charset=utf-8"),
                    (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080), "state": {},
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(sent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="notices of each kind")
    parser.add_argument(
        "--sip", action="store_true", help="dial a real sipp; time Submit -> first RTP packet"
    )
    parser.add_argument(
        "--program", action="store_true", help="an espeak-ng process per part (as before)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
