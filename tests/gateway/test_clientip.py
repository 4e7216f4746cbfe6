"""The client IP: socket peer, X-Forwarded-For only through trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from voiceotp.gateway.clientip import client_ip

PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("192.0.2.1", None, "192.0.2.1"),
        ("192.0.2.1", "203.0.113.9", "192.0.2.1"),  # untrusted peer: header ignored
        ("10.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.1", "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"),  # rightmost untrusted
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", "10.0.0.3"),  # all trusted: the farthest hop
        ("10.0.0.1", "garbage, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.1", "203.0.113.9, garbage", "10.0.0.1"),  # malformed hop: stop at the proxy
        ("10.0.0.1", "", "10.0.0.1"),
        ("::1", None, "::1"),
        (None, "203.0.113.9", None),
        ("not-an-ip", None, None),
    ],
)
def test_client_ip(peer: str | None, header: str | None, expected: str | None) -> None:
    found = client_ip(peer, header, PROXIES)
    assert (str(found) if found else None) == expected
