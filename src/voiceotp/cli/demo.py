"""``voiceotp demo``: the whole main job on one laptop, in one command.

Starts the gateway in this process (uvicorn on 127.0.0.1, a free port; SQLite in the data
dir; simulated carrier; API + dialer worker + status push), creates a demo account whose
callback is a receiver in this process, sends N voice codes through
:class:`~voiceotp.client.AsyncClient` over real HTTP, waits for the calls to end (Query)
and for their signed status pushes, and prints what happened — with the WAV of what each
callee heard. Two of the numbers show the failure path: the simulated carrier answers a
number ending in 0486 busy and lets one ending in 0487 ring out (NO_ANSWER, redialed once).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

_PENDING = ("", "QUEUED", "DIALING")
# (mobile, how the simulated carrier ends its call): its suffix rules, dialer/simulated.py.
BUSY, NO_ANSWER = ("13800130486", "BUSY"), ("13800130487", "NO_ANSWER")
DEMO_RING_TIMEOUT_S = 10.0  # the no-answer call rings this long (30 s on a real trunk)
DEMO_REDIAL_AFTER_S = 2.0  # and is redialed this soon (30 s by default)


def demo_numbers(count: int) -> list[tuple[str, str]]:
    """``count`` numbers and the status each call should end with: answered ones, and from
    two on a busy one, from three on one that is not answered."""
    answered = [(f"1380013{8000 + i:04d}", "ANSWERED") for i in range(count)]
    return [answered[0], BUSY, NO_ANSWER, *answered[1:]][:count]


@dataclass(frozen=True)
class DemoCall:
    """One demo call as it ended (status from the gateway's Query)."""

    mobile: str
    code: str
    voiceid: str
    status: str
    sip_code: int
    duration: int
    wav: Path | None
    expected: str = "ANSWERED"
    attempts: int = 1
    pushed: str = ""  # the status the signed push reported ("" = none arrived)


@click.command()
@click.option("-n", "--count", default=5, show_default=True, help="How many codes to send (1-100).")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("./voiceotp-data"),
    show_default=True,
    help="Where the SQLite store and the heard WAVs go (e.g. a temp dir).",
)
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for calls.")
def demo(count: int, data_dir: Path, timeout: float) -> None:
    """Send N voice codes through an embedded gateway and show how each call went.

    Nothing leaves this machine: the gateway listens on 127.0.0.1 (a free port), keeps its
    SQLite store in --data-dir and dials through the simulated carrier (no real calls);
    the WAV of what each callee heard goes to --data-dir/calls/. One number is busy and
    one does not answer, so the failure path and its status push show too.
    """
    from voiceotp.cli.storeplace import load_settings

    if not 1 <= count <= 100:
        raise click.BadParameter("between 1 and 100", param_hint="--count")
    settings = demo_settings(load_settings(None, None, data_dir, True, host="127.0.0.1", port=0))
    console = Console()
    calls = asyncio.run(run_demo(settings, count, timeout, console))
    console.print(results_table(calls))
    wrong = [c for c in calls if c.status != c.expected]
    if wrong:
        raise click.ClickException(f"{len(wrong)} of {len(calls)} calls did not end as expected")
    unpushed = [c for c in calls if c.pushed != c.status]
    if unpushed:
        raise click.ClickException(f"no status push arrived for {len(unpushed)} calls")
    tally = ", ".join(f"{n} {s}" for s, n in Counter(c.status for c in calls).items())
    console.print(
        f"[bold green]All {len(calls)} calls ended as expected ({tally}), and each status"
        " was pushed, signed, to the demo's callback.[/bold green]"
    )


def demo_settings(settings: Any) -> Any:
    """The demo's delivery: a no-answer rings at most 10 s and is redialed within 2 s (the
    table shows it without a minute's wait), and pushes may reach the callback on
    127.0.0.1 (outside the demo only public addresses are, docs/delivery.md)."""
    conf = settings.delivery
    delivery = replace(
        conf,
        ring_timeout_s=min(conf.ring_timeout_s, DEMO_RING_TIMEOUT_S),
        redial={k: tuple(min(d, DEMO_REDIAL_AFTER_S) for d in v) for k, v in conf.redial.items()},
        push_allow_networks=(*conf.push_allow_networks, "127.0.0.1/32"),
        push_poll_s=min(conf.push_poll_s, 0.25),
    )
    return replace(settings, delivery=delivery)


async def run_demo(settings: Any, count: int, wait_s: float, console: Console) -> list[DemoCall]:
    """Gateway up, account made, codes sent, calls and pushes awaited; all shut down after."""
    from voiceotp.cli.demo_push import PushReceiver
    from voiceotp.client import AsyncClient

    await asyncio.to_thread(_check_prompts, settings)
    receiver = PushReceiver(apikey="")
    callback = await receiver.start()
    try:
        key = await _demo_account(settings, balance=count, callback=callback)
        receiver.apikey = key.apikey
        async with serving_gateway(settings) as base_url:
            console.print(f"gateway on {base_url} (data in {settings.data_dir})")
            console.print(f"demo account [bold]{key.account}[/bold], status push to {callback}")
            numbers = demo_numbers(count)
            console.print(f"sending {count} codes{_failure_note(numbers)} ...")
            async with AsyncClient(key.account, key.apikey, base_url=base_url) as client:
                sent = await asyncio.gather(*(_send(client, m) for m, _ in numbers))
                deadline = time.monotonic() + wait_s
                calls = [await _await_end(client, m, c, v, settings, deadline) for m, c, v in sent]
            await receiver.wait_for([c.voiceid for c in calls], deadline)
    finally:
        await receiver.stop()
    expected = dict(numbers)
    return [
        replace(
            c,
            expected=expected[c.mobile],
            pushed=str(receiver.reports.get(c.voiceid, {}).get("status", "")),
        )
        for c in calls
    ]


def _failure_note(numbers: list[tuple[str, str]]) -> str:
    from voiceotp.protocol import mask_mobile

    words = {"BUSY": "is busy", "NO_ANSWER": "does not answer"}
    notes = [f"{mask_mobile(m)} {words[e]}" for m, e in numbers if e in words]
    return f" ({', '.join(notes)})" if notes else ""


def _check_prompts(settings: Any) -> None:
    """Render the prompt clips now (espeak-ng, cached): a clean error if that cannot work."""
    from voiceotp.delivery.factory import make_prompts
    from voiceotp.errors import VoiceOTPError

    conf = settings.delivery
    try:
        make_prompts(conf).warm([conf.prompt_language])
    except VoiceOTPError as exc:
        raise click.ClickException(f"cannot make the spoken prompts: {exc}") from exc


async def _send(client: Any, mobile: str) -> tuple[str, str, str]:
    code = f"{secrets.randbelow(10_000):04d}"
    result = await client.send(mobile, code)
    return mobile, code, str(result.voiceid)


async def _await_end(
    client: Any, mobile: str, code: str, voiceid: str, settings: Any, deadline: float
) -> DemoCall:
    from voiceotp.delivery.factory import record_dir

    while True:
        result = await client.query(voiceid)
        if result.status not in _PENDING or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    wav = record_dir(settings.delivery, settings.data_dir) / f"{voiceid}.wav"
    status = result.status if result.status not in _PENDING else f"{result.status} (timeout)"
    return DemoCall(
        mobile,
        code,
        voiceid,
        status,
        result.sip_code,
        result.duration,
        wav if wav.exists() else None,
        attempts=result.attempts or 1,
    )


def results_table(calls: list[DemoCall]) -> Table:
    """The rich table the demo prints."""
    from voiceotp.protocol import mask_mobile

    folders = {c.wav.parent for c in calls if c.wav}
    shared = folders.pop() if len(folders) == 1 else None
    caption = f"what each callee heard: {shared}/<voiceid>.wav" if shared else None
    # No column rules: the table fits 80 columns without cutting a voiceid.
    table = Table(
        title="voiceotp demo: voice codes sent",
        caption=caption,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in ("number", "code", "voiceid", "status", "SIP", "tries", "heard", "push"):
        table.add_column(column, no_wrap=True)
    if not shared:
        table.add_column("heard (WAV)", overflow="fold")
    for c in calls:
        style = "green" if c.status == "ANSWERED" else "yellow" if c.status == c.expected else "red"
        cells = [
            mask_mobile(c.mobile),
            c.code,
            c.voiceid,
            f"[{style}]{c.status}[/{style}]",
            str(c.sip_code),
            str(c.attempts),
            f"{c.duration}s",
            "yes" if c.pushed == c.status else c.pushed or "-",  # its signed report came
        ]
        if not shared:
            cells.append(str(c.wav) if c.wav else "-")
        table.add_row(*cells)
    return table


async def _demo_account(settings: Any, *, balance: int, callback: str) -> Any:
    """A fresh account in the demo's store (made with its folder when missing), whose
    status reports go to ``callback``."""
    from voiceotp.cli.storeplace import open_place
    from voiceotp.gateway.admin import Admin
    from voiceotp.store import make_store
    from voiceotp.store.keys import KeyBox

    await open_place(settings, command="voiceotp demo", create=True, make_folder=True)
    store = make_store(settings)
    await store.open()
    try:
        admin = Admin(store, KeyBox(settings.secret_key), time.time)
        key = await admin.create_account(balance=balance)
        await admin.configure(key.account, callback_url=callback)
        return key
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def serving_gateway(settings: Any) -> AsyncIterator[str]:
    """uvicorn serving the gateway (with delivery) on 127.0.0.1:<free port> in this event
    loop; yields the voice endpoint's URL and shuts the server down after."""
    import uvicorn

    from voiceotp.delivery.runtime import DeliveryRuntime
    from voiceotp.gateway import create_app

    app = create_app(settings, migrate=False, delivery=DeliveryRuntime)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # raises what stopped it
            raise click.ClickException("the gateway did not start")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/webservice/voice.php"
    finally:
        server.should_exit = True
        await task
