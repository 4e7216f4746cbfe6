from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from voiceotp.delivery.config import DeliverySettings
from voiceotp.delivery.notify import BlockedAddress, CallbackGuard
from voiceotp.delivery.notify.guard import GuardedResolver

REFUSED = [
    "127.0.0.1",  # loopback
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",  # RFC 1918
    "100.64.0.1",  # shared address space (carrier NAT)
    "169.254.169.254",  # link-local: cloud metadata services
    "0.0.0.0",
    "224.0.0.1",  # multicast
    "192.0.2.10",  # documentation
    "::1",
    "fe80::1",
    "fc00::1",  # unique local
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    # IPv6 forms that carry an IPv4 address are judged by it, or refused
    "::7f00:1",  # IPv4-compatible loopback
    "::10.0.0.1",
    "::ffff:0:7f00:1",  # IPv4-translated
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::808:808",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "fec0::1",  # site-local
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001::1",
]
PERMITTED = [
    "8.8.8.8",
    "1.1.1.1",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of a public address (DNS64 networks)
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not CallbackGuard().permits(address)


@pytest.mark.parametrize("address", PERMITTED)
def test_public_unicast_addresses_are_permitted(address: str) -> None:
    assert CallbackGuard().permits(address)


def test_an_allowed_network_opens_only_itself() -> None:
    guard = CallbackGuard(["10.0.0.0/8", "fd00::/8"])
    assert guard.permits("10.1.2.3")
    assert guard.permits("fd12::1")
    assert not guard.permits("192.168.1.1")
    assert not guard.permits("127.0.0.1")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/hook", "not an http(s) URL"),
        ("http:///hook", "no host in the URL"),
        ("http://[::1", "not a valid URL"),
        ("http://127.0.0.1:8080/admin", "address 127.0.0.1 is not allowed"),
        ("https://[::1]/hook", "address ::1 is not allowed"),
        ("http://169.254.169.254/latest/meta-data/", "address 169.254.169.254 is not allowed"),
        ("https://hooks.example.com/voice?token=x", None),  # names are checked on resolve
        ("https://8.8.8.8/hook", None),
    ],
)
def test_urls_are_refused_for_their_scheme_and_literal_addresses(url: str, why: str | None) -> None:
    assert CallbackGuard().refusal(url) == why


class Answers(AbstractResolver):
    """A resolver that answers from a table (the real resolver's shape)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.table[host]
        ]

    async def close(self) -> None:
        pass


async def test_the_resolver_keeps_only_permitted_addresses() -> None:
    inner = Answers({"mixed.example": ["10.0.0.7", "8.8.4.4"], "rebound.example": ["127.0.0.1"]})
    resolver = GuardedResolver(CallbackGuard(), inner)
    assert [r["host"] for r in await resolver.resolve("mixed.example", 443)] == ["8.8.4.4"]
    with pytest.raises(BlockedAddress, match=r"rebound\.example"):
        await resolver.resolve("rebound.example", 443)


def test_allowed_networks_come_from_the_delivery_settings() -> None:
    conf = DeliverySettings.from_mapping({"push_allow_networks": ["10.0.0.0/8"]})
    assert conf.push_allow_networks == ("10.0.0.0/8",)
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        DeliverySettings.from_mapping({"push_allow_networks": ["not-a-network"]})
