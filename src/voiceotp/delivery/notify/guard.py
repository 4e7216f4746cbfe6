"""Where status reports may go: public addresses only, unless the operator allows a network.

A callback URL is account data. Without this guard the gateway could be made to POST to
itself (the admin API), to a cloud metadata service (169.254.169.254) or to anything on
the operator's private network: server-side request forgery. The check runs twice:

- on the URL before a push (:meth:`CallbackGuard.refusal`): scheme, and an IP-literal
  host, which aiohttp connects to without resolving;
- on every address a host name resolves to, inside the connector's resolver
  (:class:`GuardedResolver`), so a name that resolves somewhere else later (DNS
  rebinding) is refused too: the connection only ever goes to a checked address.

Allowed: globally routable unicast addresses (``ipaddress``'s ``is_global``, which
excludes loopback, RFC 1918, shared 100.64/10, link-local, documentation and reserved
ranges), plus any network in ``push_allow_networks`` (e.g. ``10.0.0.0/8`` for receivers
on the operator's own network). IPv6 addresses that carry an IPv4 one are judged as that
IPv4 address (mapped ``::ffff:0:0/96``, translated ``::ffff:0:0:0/96``, compatible
``::/96``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``); Teredo ``2001::/32``, local-use
NAT64 ``64:ff9b:1::/48`` and site-local ``fec0::/10`` are refused (Python 3.11's
``is_global`` calls most of these global).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from voiceotp.errors import (
    BlockedAddress as BlockedAddress,  # re-exported: defined in voiceotp.errors
)

__all__ = ["BlockedAddress", "CallbackGuard", "GuardedResolver", "guarded_session"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


_V6 = ipaddress.IPv6Network
_LAST_32 = (_V6("::ffff:0:0/96"), _V6("::ffff:0:0:0/96"), _V6("::/96"), _V6("64:ff9b::/96"))
_REFUSED_V6 = (_V6("2001::/32"), _V6("64:ff9b:1::/48"), _V6("fec0::/10"))


def judged_address(ip: IPAddress) -> IPAddress | None:
    """The address to judge for ``ip``: the IPv4 one it embeds, itself, or None when it
    is a form that is never allowed."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if any(ip in network for network in _REFUSED_V6):
        return None
    if any(ip in network for network in _LAST_32):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour or ip


class CallbackGuard:
    """Decides which addresses a status push may connect to."""

    def __init__(self, allow: Iterable[str | IPNetwork] = ()) -> None:
        self.allow = tuple(ipaddress.ip_network(n, strict=False) for n in allow)

    def permits(self, address: str | IPAddress) -> bool:
        """True for a public unicast address or one inside an allowed network."""
        given = ipaddress.ip_address(
            address.split("%", 1)[0] if isinstance(address, str) else address
        )
        ip = judged_address(given)
        candidates = (given,) if ip is None else (given, ip)
        if any(a in network for a in candidates for network in self.allow):
            return True
        return ip is not None and ip.is_global and not ip.is_multicast

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be pushed to (None: go ahead; names are checked on resolve)."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return "not a valid URL"
        if parts.scheme not in ("http", "https"):
            return "not an http(s) URL"
        if not host:
            return "no host in the URL"
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return None
        return None if self.permits(literal) else f"address {host} is not allowed"


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the addresses :class:`CallbackGuard` permits."""

    def __init__(self, guard: CallbackGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [entry for entry in found if self._guard.permits(entry["host"])]
        if not allowed:
            raise BlockedAddress(f"{host} resolves only to addresses callbacks may not reach")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def guarded_session(guard: CallbackGuard) -> aiohttp.ClientSession:
    """An aiohttp session that connects only to addresses ``guard`` permits."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=GuardedResolver(guard)))
