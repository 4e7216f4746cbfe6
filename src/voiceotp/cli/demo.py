"""``voiceotp demo``: the whole main job on one laptop, in one command.

Starts the gateway in this process (uvicorn on 127.0.0.1, a free port; SQLite in the data
dir; simulated carrier; API + dialer worker + status push), creates a demo account, sends N
voice codes through :class:`~voiceotp.client.AsyncClient` over real HTTP, waits for the
calls to end (Query), and prints what happened — with the WAV of what each callee heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

_PENDING = ("", "QUEUED", "DIALING")


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
    the WAV of what each callee heard goes to --data-dir/calls/.
    """
    from voiceotp.cli.storeplace import load_settings

    if not 1 <= count <= 100:
        raise click.BadParameter("between 1 and 100", param_hint="--count")
    settings = load_settings(None, None, data_dir, True, host="127.0.0.1", port=0)
    console = Console()
    calls = asyncio.run(run_demo(settings, count, timeout, console))
    console.print(results_table(calls))
    failed = [c for c in calls if c.status != "ANSWERED"]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(calls)} calls were not answered")
    console.print(f"[bold green]All {len(calls)} calls answered.[/bold green]")


async def run_demo(settings: Any, count: int, wait_s: float, console: Console) -> list[DemoCall]:
    """Gateway up, account made, codes sent, calls awaited; the gateway is shut down after."""
    from voiceotp.client import AsyncClient

    await asyncio.to_thread(_check_prompts, settings)
    key = await _demo_account(settings, balance=count)
    async with serving_gateway(settings) as base_url:
        console.print(f"gateway on {base_url} (data in {settings.data_dir})")
        console.print(f"demo account [bold]{key.account}[/bold], sending {count} codes ...")
        async with AsyncClient(key.account, key.apikey, base_url=base_url) as client:
            sends = [_send(client, f"1380013{8000 + i:04d}") for i in range(count)]
            sent = await asyncio.gather(*sends)
            deadline = time.monotonic() + wait_s
            return [await _await_end(client, m, c, v, settings, deadline) for m, c, v in sent]


def _check_prompts(settings: Any) -> None:
    """Render the prompt clips now (espeak-ng, cached): a clean error if that cannot work."""
    from voiceotp.errors import VoiceOTPError
    from voiceotp.gateway.delivery.factory import make_prompts

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
    from voiceotp.gateway.delivery.factory import record_dir

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
    )


def results_table(calls: list[DemoCall]) -> Table:
    """The rich table the demo prints."""
    from voiceotp.protocol import mask_mobile

    folders = {c.wav.parent for c in calls if c.wav}
    shared = folders.pop() if len(folders) == 1 else None
    caption = f"what each callee heard: {shared}/<voiceid>.wav" if shared else None
    table = Table(title="voiceotp demo: voice codes sent", caption=caption)
    for column in ("number", "code", "voiceid", "status", "SIP", "duration"):
        table.add_column(column, no_wrap=True)
    if not shared:
        table.add_column("heard (WAV)", overflow="fold")
    for c in calls:
        style = "green" if c.status == "ANSWERED" else "red"
        cells = [
            mask_mobile(c.mobile),
            c.code,
            c.voiceid,
            f"[{style}]{c.status}[/{style}]",
            str(c.sip_code),
            f"{c.duration} s",
        ]
        if not shared:
            cells.append(str(c.wav) if c.wav else "-")
        table.add_row(*cells)
    return table


async def _demo_account(settings: Any, *, balance: int) -> Any:
    from voiceotp.gateway.admin import Admin
    from voiceotp.gateway.keys import KeyBox
    from voiceotp.gateway.store import make_store
    from voiceotp.gateway.store.migrate import upgrade_async

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        return await Admin(store, KeyBox(settings.secret_key), time.time).create_account(
            balance=balance
        )
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def serving_gateway(settings: Any) -> AsyncIterator[str]:
    """uvicorn serving the gateway (with delivery) on 127.0.0.1:<free port> in this event
    loop; yields the voice endpoint's URL and shuts the server down after."""
    import uvicorn

    from voiceotp.gateway import create_app
    from voiceotp.gateway.delivery.runtime import DeliveryRuntime

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
