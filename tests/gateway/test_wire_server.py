"""The gateway's HTTP protocol on a real socket: a half-closed Submit is answered, and a
connection that never finishes a request is dropped."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.gateway.harness import fixture_settings, serving
from tests.integration.helpers import new_account
from voiceotp.gateway import create_app
from voiceotp.gateway.wire import CoalescingHttpToolsProtocol
from voiceotp.protocol import Method, SubmitResult, parse_result


class QuickProtocol(CoalescingHttpToolsProtocol):
    request_timeout_s = 0.3


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, int, str]]:
    """(host, port, a Submit body of a funded account) of a gateway on a real socket."""
    import asyncio

    settings = fixture_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'gw.db'}")
    key = asyncio.run(new_account(settings, balance=5))
    body = urlencode(
        {
            "method": "Submit",
            "account": key.account,
            "password": key.apikey,
            "mobile": "13800138000",
            "content": "1125",
            "format": "json",
        }
    )
    with serving(create_app(settings, migrate=False), http=QuickProtocol) as base:
        parts = urlsplit(base)
        assert parts.hostname is not None
        assert parts.port is not None
        yield parts.hostname, parts.port, body


def read_to_end(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_submit_sent_then_half_closed_gets_its_answer(gateway: tuple[str, int, str]) -> None:
    host, port, body = gateway
    request = (
        f"POST /webservice/voice.php HTTP/1.1\r\nHost: gw\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
        f"{body}"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = read_to_end(sock)
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    result = parse_result(payload, Method.SUBMIT)
    assert isinstance(result, SubmitResult)
    assert result.code == 2
    assert result.voiceid


@pytest.mark.parametrize(
    "sent", [b"", b"POST /webservice/voice.php HTTP/1.1\r\nHost: gw\r\n", b"GET / HTTP/1.1\r\nHo"]
)
def test_a_connection_that_never_finishes_a_request_is_dropped(
    gateway: tuple[str, int, str], sent: bytes
) -> None:
    host, port, _ = gateway
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(sent)
        assert read_to_end(sock) == b""  # closed by the server (not our 10 s timeout)


def test_a_slow_body_is_dropped_too(gateway: tuple[str, int, str]) -> None:
    host, port, body = gateway
    head = (
        "POST /webservice/voice.php HTTP/1.1\r\nHost: gw\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head + body[:10].encode())
        assert read_to_end(sock) == b""
