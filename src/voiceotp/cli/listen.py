"""The listening sockets of ``voiceotp serve``, bound before anything else starts.

uvicorn binds only after the app's lifespan ran, and the lifespan starts the dialer
worker: a second ``serve`` on a taken port used to claim queued calls, then exit and leave
them ``dialing``. Binding here first makes a port clash end the command before the store
is even opened.
"""

from __future__ import annotations

import socket

import click

from voiceotp.cli.exitcodes import ExitCode

__all__ = ["ListenError", "base_url", "bind_listeners", "url_host"]

BACKLOG = 2048  # uvicorn's default


class ListenError(click.ClickException):
    """The host/port cannot be listened on; exits with ``ExitCode.LISTEN_FAILED``."""

    exit_code = ExitCode.LISTEN_FAILED


def url_host(host: str) -> str:
    """``host`` as it goes into a URL: IPv6 addresses in brackets (``[::1]``)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def base_url(host: str, port: int) -> str:
    return f"http://{url_host(host)}:{port}"


def bind_listeners(host: str, port: int) -> list[socket.socket]:
    """Bound, listening sockets for every address ``host`` resolves to (as asyncio's
    ``create_server`` would make them); :class:`ListenError` when that fails."""
    where = f"{url_host(host)}:{port}"
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise ListenError(f"cannot listen on {where}: {exc}. Check --host.") from exc
    listeners: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            if port == 0 and listeners:  # one free port for all the host's addresses
                address = (address[0], listeners[0].getsockname()[1], *address[2:])
            listeners.append(_listen(family, kind, proto, address))
    except OSError as exc:
        for sock in listeners:
            sock.close()
        raise ListenError(
            f"cannot listen on {where}: {exc.strerror or exc}. Another process (another "
            "gateway?) may be using that port: stop it, or choose another --port."
        ) from exc
    return listeners


def _listen(family: int, kind: int, proto: int, address: tuple[object, ...]) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        # Restart at once over old connections in TIME_WAIT; a live listener still
        # refuses the bind (Linux), which is the clash we want to see.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        # Listen now, not when uvicorn starts: two sockets may bind one port with
        # SO_REUSEADDR until one listens. Early clients wait in the backlog.
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock
