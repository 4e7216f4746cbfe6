"""Voice notification latency: from the Submit to the moment the dialer holds the notice's
audio (G.711, ready to stream), for a ~120-character notice, cold and cached.

One process, real pieces: the Submit goes through the gateway's ASGI app (real SQLite
store, group commit, WAL flush), the dial worker claims the call through the store's
fence, renders the notice (real espeak-ng, pinyin, soxr) off the loop and hands it to
a dialer. The dialer here only notes the time and answers at once: the SIP exchange
(INVITE -> 200 OK; the first RTP packet follows the answer) is the callee's and the
network's, not ours, and is not in the figure.

- cold: a new renderer and an empty cache directory (every part goes to espeak-ng);
- cached: the template's fixed parts are cached, the variables' values are new;
- repeat: the same notice again (an LRU hit, as on a redial).

    .venv/bin/python bench/notify.py                 # 10 notices of each kind
    .venv/bin/python bench/notify.py --runs 30
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
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

        def worker(cache: Path) -> DialWorker:
            return DialWorker(
                queue=queue, fence=SqlFence(gw.store), dialer=NotingDialer(timer),
                prompts=PromptLibrary(cache_dir=cache), settings=WorkerSettings(name="bench"),
            )  # fmt: skip

        async def one(w: DialWorker, text: str, mobile: str) -> float:
            form = f"account={key.account}&password={key.apikey}&mobile={mobile}"
            body = (form + "&content=").encode() + text.encode()
            started = time.perf_counter()
            answer = await call(app, body)
            assert b"<code>2</code>" in answer, answer.decode()
            [delivery] = await queue.receive("bench", count=1, block_s=0)
            await w.process(delivery)
            return (timer.dialed_at - started) * 1000

        print(f"notice: {len(notice(0))} characters, template {len(TEMPLATE)}")
        cold, cached, repeat = [], [], []
        for i in range(args.runs):
            fresh = worker(data_dir / f"cache-{i}")  # a new renderer, an empty cache
            cold.append(await one(fresh, notice(i), f"138{i:08d}"))
            cached.append(await one(fresh, notice(i + 1000), f"139{i:08d}"))
            repeat.append(await one(fresh, notice(i + 1000), f"137{i:08d}"))
        for label, figures in (("cold", cold), ("cached", cached), ("repeat", repeat)):
            print(
                f"{label:7} Submit -> audio at the dialer: p50 {statistics.median(figures):6.1f} ms"
                f"  min {min(figures):6.1f}  max {max(figures):6.1f}  (n={len(figures)})"
            )


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
