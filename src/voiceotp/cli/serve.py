"""``voiceotp serve``: the gateway on uvicorn (SQLite in a data dir unless told otherwise)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


def gateway_options(command: F) -> F:
    """Options every gateway command shares (settings also come from VOICEOTP_*)."""
    options = [
        click.option(
            "--config",
            type=click.Path(path_type=Path, dir_okay=False),
            envvar="VOICEOTP_CONFIG",
            help="TOML settings file ([gateway] table).",
        ),
        click.option("--database-url", help="sqlite:///path or postgresql://user@host/db"),
        click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False)),
        click.option("--dev", is_flag=True, default=False, help="Development mode (dev secrets)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_settings(
    config: Path | None, database_url: str | None, data_dir: Path | None, dev: bool, **more: Any
) -> Any:
    """Settings from file + environment + these options, or a clean CLI error."""
    from voiceotp.gateway.settings import Settings, SettingsError

    try:
        return Settings.load(
            config,
            database_url=database_url,
            data_dir=data_dir,
            dev_mode=True if dev else None,
            **more,
        )
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@gateway_options
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080; 0 = any free port).")
@click.option("--access-log/--no-access-log", default=True, help="Masked access log on stderr.")
@click.option("--dialer", "dialer_kind", type=click.Choice(["simulated", "sip", "relay"]))
@click.option(
    "--delivery/--no-delivery",
    default=None,
    help="Run dialer worker and status push in this process (default: on). Without them"
    " accepted calls still go to the queue (Redis when configured) for `voiceotp dialer`.",
)
def serve(
    config: Path | None,
    database_url: str | None,
    data_dir: Path | None,
    dev: bool,
    host: str | None,
    port: int | None,
    access_log: bool,
    dialer_kind: str | None,
    delivery: bool | None,
) -> None:
    """Run the ihuyi-compatible gateway (API, dialer worker and status push)."""
    import uvicorn

    from voiceotp.cli.dialer import with_delivery
    from voiceotp.gateway import create_app
    from voiceotp.gateway.delivery.runtime import DeliveryRuntime

    settings = load_settings(config, database_url, data_dir, dev, host=host, port=port)
    settings = with_delivery(
        settings, dialer=dialer_kind, run_dialer=delivery, run_notifier=delivery
    )
    asyncio.run(prepare(settings, Console()))
    if access_log:
        configure_access_log()
    # The WAL fsync thread needs the GIL back to report a flush; the busy loop would hold
    # it for up to the default 5 ms switch interval, and every waiting Submit with it
    # (measured: median server CPU 140 -> 118 us/Submit on SQLite FULL at c50).
    sys.setswitchinterval(0.0005)
    uvicorn.run(
        create_app(settings, migrate=False, tune_gc=True, delivery=DeliveryRuntime),
        host=settings.host,
        port=settings.port,
        access_log=False,  # ours masks numbers and keys; uvicorn's would log raw queries
        proxy_headers=False,  # X-Forwarded-For is ours to judge (settings.trusted_proxies)
        log_level="info",
        http=http_protocol(),
        ws="none",  # no WebSocket routes
    )


def configure_access_log() -> None:
    """The masked access log (``voiceotp.access``) on stderr, cheaply: one line per request."""
    import logging

    from voiceotp.gateway.observe import BufferedStreamHandler

    # Skip what no format here shows (the logging HOWTO's "Optimization" list: caller
    # frame lookup, thread and process names): ~6 us a line.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # stderr block-buffered: the handler's thread flushes lines in bulk, not one write each.
    stream = open(  # noqa: SIM115
        sys.stderr.fileno(),
        "w",
        buffering=1 << 16,
        encoding="utf-8",
        errors="backslashreplace",
        closefd=False,
    )
    handler = BufferedStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("voiceotp.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def http_protocol() -> Any:
    """httptools with one send per response (gateway/wire.py), else uvicorn's choice."""
    try:
        from voiceotp.gateway.wire import CoalescingHttpToolsProtocol
    except ImportError:  # httptools not installed
        return "auto"
    return CoalescingHttpToolsProtocol


async def prepare(settings: Any, console: Console) -> None:
    """Migrate, and on an empty store create and print a ready demo account."""
    import time

    from voiceotp.gateway.admin import Admin
    from voiceotp.gateway.keys import KeyBox
    from voiceotp.gateway.store import make_store
    from voiceotp.gateway.store.migrate import upgrade_async

    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        demo = await Admin(store, KeyBox(settings.secret_key), time.time).ensure_demo_account()
    finally:
        await store.close()
    if demo is not None:
        url = f"http://{settings.host}:{settings.port}/webservice/voice.php"
        console.print("[bold green]Empty store: created a demo account[/bold green]")
        console.print(f"  APIID  (account)  [bold]{demo.account}[/bold]")
        console.print(f"  APIKEY (password) [bold]{demo.apikey}[/bold]   (shown once)")
        console.print(f"  endpoint          {url}")
