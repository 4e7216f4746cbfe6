"""``voiceotp serve``: the gateway on uvicorn (SQLite in a data dir unless told otherwise)."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from voiceotp.cli.storeplace import (
    gateway_options,
    load_settings,
    open_place,
    store_errors,
    uses_default_data_dir,
)

SERVE_EXAMPLES = """Examples:

\b
  voiceotp serve --dev                     # laptop: SQLite in ./voiceotp-data, dev secrets,
                                           # simulated carrier, a demo account on first start
  voiceotp serve --dev --port 0            # any free port (printed)
  voiceotp admin genkey > secret.key       # once; keep it: it encrypts the APIKEYs at rest
  VOICEOTP_SECRET_KEY=$(cat secret.key) VOICEOTP_ADMIN_TOKEN=... \\
    voiceotp serve --host 0.0.0.0 --database-url postgresql://voiceotp@db/voiceotp
  voiceotp serve --no-delivery             # API only; `voiceotp dialer` processes dial
  VOICEOTP_REDIS_URL=redis://127.0.0.1:6379/0 \\
    voiceotp serve --database-url postgresql://voiceotp@db/voiceotp --workers 4
                                           # 4 API processes on one port (PostgreSQL
                                           # and Redis); the first also dials

Exit status 3: the address cannot be listened on (nothing was started).
Settings also come from VOICEOTP_* variables and --config (docs/gateway.md).
"""


@click.command(epilog=SERVE_EXAMPLES)
@gateway_options
@click.option("--host", default=None, help="Bind address (default 127.0.0.1; :: for IPv6).")
@click.option("--port", type=int, default=None, help="Port (default 8080; 0 = any free port).")
@click.option(
    "--access-log/--no-access-log",
    default=True,
    help="Masked access log on stderr (numbers masked, no keys). Default: on.",
)
@click.option(
    "--dialer",
    "dialer_kind",
    type=click.Choice(["simulated", "sip", "relay"]),
    help="How calls go out: simulated carrier (default, no real calls), a SIP trunk, or"
    " relayed to upstream ihuyi-compatible services (setting: delivery.dialer).",
)
@click.option(
    "--delivery/--no-delivery",
    default=None,
    help="Run dialer worker and status push in this process (default: on). Without them"
    " accepted calls still go to the queue (Redis when configured) for `voiceotp dialer`.",
)
@click.option(
    "--console/--no-console",
    "with_console",
    default=True,
    help="Serve the operator console at /console/ (default: on; docs/console.md).",
)
@click.option(
    "--user-center/--no-user-center",
    "with_user_center",
    default=True,
    help="Serve the customer user center at /user/ (default: on; docs/user-center.md).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="API processes sharing the port (PostgreSQL and Redis only; docs/deploy.md).",
)
@click.option(
    "--delivery-workers",
    type=click.IntRange(0, 256),
    default=1,
    show_default=True,
    help="With --workers: how many of them also run the dialer and status push.",
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
    with_console: bool,
    with_user_center: bool,
    workers: int,
    delivery_workers: int,
) -> None:
    """Run the ihuyi-compatible gateway (API, dialer worker, status push, the operator
    console and the customer user center)."""
    from voiceotp.cli.dialer import with_delivery
    from voiceotp.cli.listen import base_url, bind_listeners

    settings = load_settings(config, database_url, data_dir, dev, host=host, port=port)
    settings = with_delivery(
        settings, dialer=dialer_kind, run_dialer=delivery, run_notifier=delivery
    )
    if workers > 1:
        check_workers(settings, workers)
    # First the port: a clash must end this before any worker could claim a call.
    listeners = bind_listeners(settings.host, settings.port)
    bound_port = int(listeners[0].getsockname()[1])
    console = Console()
    with store_errors(settings):
        url = base_url(settings.host, bound_port)
        asyncio.run(prepare(settings, console, url, config, with_console=with_console))
    # The WAL fsync thread needs the GIL back to report a flush; the busy loop would hold
    # it for up to the default 5 ms switch interval, and every waiting Submit with it
    # (measured: median server CPU 140 -> 118 us/Submit on SQLite FULL at c50).
    sys.setswitchinterval(0.0005)
    from voiceotp.cli.serving import run_server  # uvicorn and the gateway: imported late

    def run_worker(index: int) -> None:
        run_server(
            worker_settings(settings, index, delivery_workers) if workers > 1 else settings,
            listeners,
            bound_port,
            console,
            access_log=access_log,
            with_console=with_console,
            with_user_center=with_user_center,
            announce=index == 0,
        )

    if workers == 1:
        run_worker(0)
        return
    from voiceotp.cli.workers import supervise

    def say(line: str) -> None:
        console.print(f"serve: {line}", markup=False, highlight=False)

    say(f"{workers} API workers on port {bound_port}")
    sys.exit(supervise(workers, run_worker, log=say))


def check_workers(settings: Any, workers: int) -> None:
    """``--workers N`` needs a store that N processes can write and shared caps."""
    url = settings.effective_database_url
    if not url.startswith("postgresql"):
        raise click.ClickException(
            f"--workers {workers} needs PostgreSQL (--database-url postgresql://...): a SQLite "
            "store has one writer, so more processes would only wait for each other. Run one "
            "process on SQLite, or move the store to PostgreSQL (docs/deploy.md)."
        )
    if not settings.redis_url and not settings.allow_unshared_caps:
        raise click.ClickException(
            f"--workers {workers} needs Redis (VOICEOTP_REDIS_URL or redis_url): per-number "
            "caps and idempotency claims are shared through it; without it each worker would "
            "count alone (a number could be called twice a minute)."
        )


def worker_settings(settings: Any, index: int, delivery_workers: int) -> Any:
    """Worker ``index``'s settings: delivery only in the first ``delivery_workers`` (the
    rest still enqueue for them); a fixed dialer name gets the worker's index."""
    from voiceotp.cli.dialer import with_delivery

    if index >= delivery_workers:
        return with_delivery(settings, run_dialer=False, run_notifier=False)
    name = settings.delivery.worker_name
    return with_delivery(settings, worker_name=f"{name}-{index}" if name else None)


async def prepare(
    settings: Any,
    console: Console,
    base_url: str,
    config: Path | None = None,
    *,
    with_console: bool = False,
) -> None:
    """Migrate (a first start makes the store); refuse to be a second API process where
    caps are not shared; on an empty store print, in dev mode, a ready demo account, else the
    command that creates the first account; say how to make the first console operator when
    there is none."""
    import time

    from voiceotp.gateway.admin import Admin
    from voiceotp.store import make_store
    from voiceotp.store.keys import KeyBox
    from voiceotp.store.web import list_web_users

    await open_place(
        settings,
        command="voiceotp serve",
        create=True,
        make_folder=uses_default_data_dir(settings),
    )
    store = make_store(settings)
    await store.open()
    try:
        await check_api_slot(store, settings)  # before anything is written to the store
        admin = Admin(store, KeyBox(settings.secret_key), time.time)
        empty = not await store.list_accounts()
        demo = await admin.ensure_demo_account() if empty and settings.dev_mode else None
        nobody = with_console and not await list_web_users(store, kind="operator")
    finally:
        await store.close()
    if nobody:
        console.print(
            f"Console: {base_url}/console/ — no operator yet; create one with", markup=False
        )
        console.print("  voiceotp admin operator create NAME --role admin", markup=False)
    if demo is not None:
        console.print("[bold green]Empty store: created a demo account[/bold green]")
        console.print(f"  APIID  (account)  [bold]{demo.account}[/bold]")
        console.print(f"  APIKEY (password) [bold]{demo.apikey}[/bold]   (shown once)")
        console.print(f"  endpoint          {base_url}/webservice/voice.php", markup=False)
    elif empty:
        for line in first_account_hint(settings, config):
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def first_account_hint(settings: Any, config: Path | None) -> list[str]:
    """What to run for the first account of an empty production store: the exact command,
    on this store (a database password shows as ***, never in clear)."""
    from voiceotp.cli.banner import masked_url

    args = ["voiceotp", "admin", "create"]
    if config is not None:
        args += ["--config", str(config.absolute())]
    url = settings.database_url
    if url:
        args += ["--database-url", masked_url(url)]
    else:
        args += ["--data-dir", str(Path(settings.data_dir).absolute())]
    args += ["--balance", "100"]
    lines = [
        "Empty store: no accounts yet. Create the first one (its APIKEY is printed once),"
        " with this server's VOICEOTP_SECRET_KEY set:",
        "  " + shlex.join(args),
    ]
    if url and masked_url(url) != url:
        lines.append("  (put the database password in place of ***)")
    return lines


async def check_api_slot(store: Any, settings: Any) -> None:
    """May this process be an API process on the store (gateway/processes.py)? A one-line
    error instead of a failed start-up with a traceback; the app takes the lock for real
    in its lifespan."""
    from voiceotp.errors import SettingsError
    from voiceotp.gateway.processes import claim_api_slot

    try:
        lock = await claim_api_slot(store, settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    await lock.release()
