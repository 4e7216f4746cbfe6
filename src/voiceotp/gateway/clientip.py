"""The client's IP: the socket peer, or X-Forwarded-For when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from voiceotp.gateway.settings import IPNetwork
from voiceotp.gateway.submit.directory import IPAddress


@lru_cache(maxsize=4096)  # peers repeat; parsing an address costs more than the lookup
def _parse(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_ip(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> IPAddress | None:
    """Walk X-Forwarded-For from the right while hops are trusted proxies.

    The first untrusted hop is the client. A header from an untrusted peer is ignored
    (anyone can write one), and so is a malformed hop (the last trusted hop is used).
    """
    current = _parse(peer) if peer else None
    if current is None or not forwarded_for or not _trusted(current, trusted):
        return current
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            return current
        current = address
        if not _trusted(current, trusted):
            return current
    return current


def _trusted(ip: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(ip in net for net in trusted)
