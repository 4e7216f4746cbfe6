"""uvicorn for ``voiceotp serve``: on sockets bound beforehand, with our access log and a
start-up banner (imported only when the gateway runs: uvicorn and Starlette are heavy)."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from rich.console import Console

from voiceotp.cli.banner import banner_lines
from voiceotp.cli.exitcodes import ExitCode
from voiceotp.cli.workers import unblock_stop_signals
from voiceotp.delivery.runtime import DeliveryRuntime
from voiceotp.gateway import create_app
from voiceotp.gateway.settings import Settings

__all__ = ["AnnouncingServer", "configure_access_log", "http_protocol", "run_server"]


def run_server(
    settings: Settings,
    listeners: list[socket.socket],
    port: int,
    console: Console,
    *,
    access_log: bool,
    with_console: bool = True,
    with_user_center: bool = True,
    announce: bool = True,
) -> None:
    """Serve on ``listeners`` until SIGINT/SIGTERM; print the banner once serving (unless
    ``announce`` is False: the workers of ``serve --workers`` but the first)."""
    extra = []
    if with_console:
        from voiceotp.web.console import console_routes

        extra += console_routes()
    if with_user_center:
        from voiceotp.web.usercenter import user_center_routes

        extra += user_center_routes()
    app = create_app(
        settings, migrate=False, tune_gc=True, delivery=DeliveryRuntime, extra_routes=extra
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        access_log=False,  # ours masks numbers and keys; uvicorn's would log raw queries
        proxy_headers=False,  # X-Forwarded-For is ours to judge (settings.trusted_proxies)
        log_level="info",
        http=http_protocol(),
        ws="none",  # no WebSocket routes
    )
    # After uvicorn's Config, whose logging set-up (dictConfig) closes every handler
    # there is: set up before it, the access log lost its flusher thread.
    if access_log:
        configure_access_log()

    def started() -> None:
        if not announce:
            return
        for line in banner_lines(settings, port):
            console.print(line, markup=False, highlight=False, soft_wrap=True)

    server = AnnouncingServer(config, started)
    server.run(sockets=listeners)
    if not server.started:
        sys.exit(ExitCode.LISTEN_FAILED)  # the app did not start (uvicorn logged why)


class AnnouncingServer(uvicorn.Server):
    """uvicorn's Server calling ``on_started`` once it serves (on sockets passed in,
    uvicorn prints no "running on" line of its own)."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.on_started()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn re-raises the signal that stopped it, so a clean SIGTERM stop would end
        the process by that signal (status -15), which systemd and supervisors read as a
        failure. A SIGTERM that led to a clean stop is dropped: the process exits 0.
        (SIGINT is still re-raised: Ctrl+C ends with KeyboardInterrupt's usual status.)
        A worker of `serve --workers` starts with SIGTERM/SIGINT blocked (cli/workers.py):
        they are let in once uvicorn's handlers are there to stop it gracefully."""
        with super().capture_signals():
            unblock_stop_signals()
            yield  # the server ran and shut down without an exception
            self._captured_signals[:] = [
                sig for sig in self._captured_signals if sig != signal.SIGTERM
            ]


def configure_access_log() -> None:
    """The masked access log (``voiceotp.access``) on stderr, cheaply: one line per request."""
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
