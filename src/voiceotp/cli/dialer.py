"""``voiceotp dialer``: dialer workers (plus sweep and status push) without the HTTP API.

For scale-out: run ``voiceotp serve`` processes for the API and any number of
``voiceotp dialer`` processes against one PostgreSQL database and one Redis
(``VOICEOTP_REDIS_URL``: jobs go through Redis Streams). Without Redis the store itself is
the queue (fine for one host).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

import click

from voiceotp.cli.serve import gateway_options, load_settings


@click.command()
@gateway_options
@click.option("--name", default=None, help="Worker name (default host-pid; a fixed name "
              "ends its previous run's calls at start).")  # fmt: skip
@click.option(
    "--dialer",
    "dialer_kind",
    type=click.Choice(["simulated", "sip", "relay"]),
    help="How calls go out (setting: delivery.dialer; default simulated).",
)
@click.option("--notifier/--no-notifier", default=True, help="Also push status reports.")
def dialer(
    config: Path | None,
    database_url: str | None,
    data_dir: Path | None,
    dev: bool,
    name: str | None,
    dialer_kind: str | None,
    notifier: bool,
) -> None:
    """Run dialer workers against the gateway's store (and Redis, when configured).

    SIGTERM/SIGINT stop it gracefully: calls in flight get delivery.stop_grace_s to end,
    then are hung up and recorded CANCELED."""
    settings = load_settings(config, database_url, data_dir, dev)
    settings = with_delivery(settings, worker_name=name, dialer=dialer_kind)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_dialer(settings, notifier=notifier))


def with_delivery(settings: Any, **changes: Any) -> Any:
    """``settings`` with the given (non-None) delivery values replaced."""
    from dataclasses import replace

    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return settings
    try:
        return replace(settings, delivery=replace(settings.delivery, **changes))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


async def run_dialer(settings: Any, *, notifier: bool) -> None:
    """Migrate, open the store, run the delivery runtime until SIGINT/SIGTERM."""
    from voiceotp.gateway.delivery.runtime import DeliveryRuntime
    from voiceotp.gateway.store import make_store
    from voiceotp.gateway.store.migrate import upgrade_async

    await upgrade_async(settings.effective_database_url)
    store = make_store(settings)
    await store.open()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runtime = DeliveryRuntime(settings, store, run_dialer=True, run_notifier=notifier)
    try:
        await runtime.start()
        logging.getLogger(__name__).info("dialer %s running", runtime.worker_name)
        await stop.wait()
    finally:
        await runtime.stop()
        await store.close()
