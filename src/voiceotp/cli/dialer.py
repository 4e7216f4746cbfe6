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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from voiceotp.cli.storeplace import gateway_options, load_settings, open_place, store_errors

DIALER_EXAMPLES = """Examples:

\b
  voiceotp dialer --dev                         # beside `serve --dev` in this folder
  voiceotp dialer --dev --data-dir /tmp/gw      # beside `serve --dev --data-dir /tmp/gw`
  VOICEOTP_SECRET_KEY=$(cat secret.key) VOICEOTP_REDIS_URL=redis://127.0.0.1:6379/0 \\
    voiceotp dialer --database-url postgresql://voiceotp@db/voiceotp --name dialer-1
  voiceotp dialer --dev --dialer sip --config trunk.toml --metrics-port 9102

It works on the store that `voiceotp serve` made, found with the same options as serve;
it never makes one. Without Redis the store is the queue (one host); with
VOICEOTP_REDIS_URL the jobs come from Redis, for dialers on several hosts.
"""


@click.command(epilog=DIALER_EXAMPLES)
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
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve this worker's Prometheus metrics at http://HOST:PORT/metrics (default: off).",
)
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, help="Address for --metrics-port."
)
def dialer(
    config: Path | None,
    database_url: str | None,
    data_dir: Path | None,
    dev: bool,
    name: str | None,
    dialer_kind: str | None,
    notifier: bool,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Run dialer workers against the gateway's store (and Redis, when configured).

    SIGTERM/SIGINT stop it gracefully: calls in flight get delivery.stop_grace_s to end,
    then are hung up and recorded CANCELED."""
    settings = load_settings(config, database_url, data_dir, dev)
    settings = with_delivery(settings, worker_name=name, dialer=dialer_kind)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    metrics_at = (metrics_host, metrics_port) if metrics_port else None
    with store_errors(settings), asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(run_dialer(settings, notifier=notifier, metrics_at=metrics_at))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (``uvicorn[standard]`` brings it): bench/dialer.py measured
    ~20 % less CPU per call with RTP flowing both ways; else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


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


async def run_dialer(
    settings: Any, *, notifier: bool, metrics_at: tuple[str, int] | None = None
) -> None:
    """Migrate, open the store, run the delivery runtime until SIGINT/SIGTERM (serving
    its metrics at ``metrics_at``, when given)."""
    from voiceotp.cli.banner import dialer_kind
    from voiceotp.delivery.dialer.rtp import calm_garbage_collector
    from voiceotp.delivery.runtime import DeliveryRuntime
    from voiceotp.store import make_store

    log = logging.getLogger(__name__)
    await open_place(settings, command="voiceotp dialer")
    store = make_store(settings)
    await store.open()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    registry = None
    if metrics_at is not None:
        from prometheus_client import CollectorRegistry

        registry = CollectorRegistry()
    runtime = DeliveryRuntime(
        settings, store, run_dialer=True, run_notifier=notifier, registry=registry
    )
    metrics_site = None
    detector, redis_client = failure_detector(settings, store)
    try:
        await runtime.start(on_call_finished=detector.call_finished if detector else None)
        if metrics_at is not None and runtime.metrics is not None:
            metrics_site = await serve_metrics(runtime.metrics, registry, *metrics_at)
        calm_garbage_collector()  # start-up done: the RTP pacer must not stall
        log.info(
            "dialer %s running: %s; status push %s",
            runtime.worker_name,
            dialer_kind(settings),
            "on" if notifier else "off",
        )
        await stop.wait()
        log.info(
            "dialer %s stopping (SIGTERM or Ctrl-C): calls in progress get up to %g s",
            runtime.worker_name,
            settings.delivery.stop_grace_s,
        )
    finally:
        if metrics_site is not None:
            await metrics_site.cleanup()
        await runtime.stop()
        await store.close()
        if redis_client is not None:
            await redis_client.aclose()
    log.info("dialer %s stopped", runtime.worker_name)


def failure_detector(settings: Any, store: Any) -> tuple[Any, Any]:
    """The abuse detector's failure ratio over the calls this dialer ends (off unless
    ``abuse_failure_ratio``), counted with every other process through Redis when
    ``redis_url`` is set; and the Redis client to close."""
    if not settings.abuse_failure_ratio:
        return None, None
    import time

    from voiceotp.gateway.submit.abuse import AbuseDetector, freeze_account
    from voiceotp.gateway.submit.directory import abuse_limits
    from voiceotp.gateway.submit.shared import make_shared_limits

    shared = make_shared_limits(settings)  # the API processes' Redis counts, or in-process

    async def freeze(account_id: int, detector: str, detail: str) -> None:
        await freeze_account(store, account_id, detector, detail, time.time())

    return AbuseDetector(abuse_limits(settings), freeze, shared.abuse_counts), shared.client


async def serve_metrics(metrics: Any, registry: Any, host: str, port: int) -> Any:
    """A ``/metrics`` endpoint for this worker (an aiohttp AppRunner; ``cleanup()`` it).

    The API's ``/metrics`` is served by ``voiceotp serve``; a dialer-only process has no
    HTTP server of its own, and its counters (calls it ended, pushes it made) are its own.
    """
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    async def scrape(_: web.Request) -> web.Response:
        await metrics.refresh()
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    logging.getLogger(__name__).info("metrics at http://%s:%d/metrics", host, port)
    return runner
