"""Cookies are Secure when the browser's connection is https, also behind a trusted proxy."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace

from starlette.requests import Request

from voiceotp.web.auth import is_https

PROXY = ipaddress.ip_network("10.0.0.0/8")


def request(scheme: str, peer: str, proto: str | None) -> Request:
    app = SimpleNamespace(
        state=SimpleNamespace(
            gateway=SimpleNamespace(settings=SimpleNamespace(trusted_proxies=(PROXY,)))
        )
    )
    headers = [(b"x-forwarded-proto", proto.encode())] if proto else []
    scope = {
        "type": "http", "scheme": scheme, "client": (peer, 1234), "headers": headers,
        "app": app, "path": "/", "query_string": b"", "server": ("gw", 80), "method": "GET",
    }  # fmt: skip
    return Request(scope)


def test_https_directly_or_from_a_trusted_proxy_only() -> None:
    assert is_https(request("https", "192.0.2.1", None))
    assert is_https(request("http", "10.1.2.3", "https"))
    assert not is_https(request("http", "192.0.2.1", "https"))  # anyone can write the header
    assert not is_https(request("http", "10.1.2.3", None))
    assert not is_https(request("http", "testclient", "https"))
