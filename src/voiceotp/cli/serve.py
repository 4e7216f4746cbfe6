"""``voiceotp serve``: the gateway on uvicorn (SQLite in a data dir unless told otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterator
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
        click.option(
            "--database-url",
            help="sqlite:///path or postgresql://user@host/db (default: SQLite in the data"
            " dir; VOICEOTP_DATABASE_URL).",
        ),
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Folder for the SQLite database and recorded calls (default"
            " ./voiceotp-data; VOICEOTP_DATA_DIR).",
        ),
        click.option(
            "--dev",
            is_flag=True,
            default=False,
            help="Development mode: well-known secrets are allowed and filled in (same as"
            " VOICEOTP_DEV_MODE=1). Never on a reachable server.",
        ),
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


SERVE_EXAMPLES = """Examples:

\b
  voiceotp serve --dev                     # laptop: SQLite in ./voiceotp-data, dev secrets,
                                           # simulated carrier, a demo account on first start
  voiceotp serve --dev --port 0            # any free port (printed)
  voiceotp admin genkey > secret.key       # once; keep it: it encrypts the APIKEYs at rest
  VOICEOTP_SECRET_KEY=$(cat secret.key) VOICEOTP_ADMIN_TOKEN=... \\
    voiceotp serve --host 0.0.0.0 --database-url postgresql://voiceotp@db/voiceotp
  voiceotp serve --no-delivery             # API only; `voiceotp dialer` processes dial

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
) -> None:
    """Run the ihuyi-compatible gateway (API, dialer worker, status push and the operator
    console)."""
    from voiceotp.cli.dialer import with_delivery
    from voiceotp.cli.listen import base_url, bind_listeners

    settings = load_settings(config, database_url, data_dir, dev, host=host, port=port)
    settings = with_delivery(
        settings, dialer=dialer_kind, run_dialer=delivery, run_notifier=delivery
    )
    # First the port: a clash must end this before any worker could claim a call.
    listeners = bind_listeners(settings.host, settings.port)
    bound_port = int(listeners[0].getsockname()[1])
    console = Console()
    with store_errors(settings):
        url = base_url(settings.host, bound_port)
        asyncio.run(prepare(settings, console, url, with_console=with_console))
    # The WAL fsync thread needs the GIL back to report a flush; the busy loop would hold
    # it for up to the default 5 ms switch interval, and every waiting Submit with it
    # (measured: median server CPU 140 -> 118 us/Submit on SQLite FULL at c50).
    sys.setswitchinterval(0.0005)
    from voiceotp.cli.serving import run_server  # uvicorn and the gateway: imported late

    run_server(
        settings, listeners, bound_port, console, access_log=access_log, with_console=with_console
    )


@contextlib.contextmanager
def store_errors(settings: Any) -> Iterator[None]:
    """A database that cannot be reached or opened is one line, not a traceback."""
    from voiceotp.cli.banner import masked_url
    from voiceotp.store import StoreUnavailable

    try:
        yield
    except StoreUnavailable as exc:
        url = masked_url(settings.effective_database_url)
        raise click.ClickException(
            f"cannot open the database {url}: {exc}. Check --database-url"
            " (a PostgreSQL database must exist: createdb NAME) and that the server runs."
        ) from None


async def prepare(
    settings: Any, console: Console, base_url: str, *, with_console: bool = False
) -> None:
    """Migrate, and on an empty store create and print a ready demo account; say how to
    make the first console operator when there is none."""
    import time

    from voiceotp.gateway.admin import Admin
    from voiceotp.store import make_store
    from voiceotp.store.keys import KeyBox
    from voiceotp.store.migrate import upgrade_async
    from voiceotp.store.web import list_web_users

    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    try:
        demo = await Admin(store, KeyBox(settings.secret_key), time.time).ensure_demo_account()
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
