"""Stream framing (sans I/O), the TCP transport against a scripted peer, and the settings
that combine transport and TLS."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.delivery.dialer.conftest import make_audio
from voiceotp.delivery.dialer import CallOutcome, CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk
from voiceotp.delivery.dialer.sip.message import SipParseError, parse_message
from voiceotp.delivery.dialer.sip.stream import (
    MAX_BODY,
    MAX_HEADERS,
    PING,
    StreamFramer,
    transport_uri,
)
from voiceotp.errors import SettingsError

MOBILE = "13800138000"
OPTIONS = (
    b"OPTIONS sip:gw SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKx\r\n"
    b"From: <sip:t@x>;tag=1\r\nTo: <sip:gw@y>\r\nCall-ID: ka\r\nCSeq: 1 OPTIONS\r\n"
)


def message(body: bytes = b"", length: str = "Content-Length") -> bytes:
    return OPTIONS + f"{length}: {len(body)}\r\n\r\n".encode() + body


def test_the_framer_cuts_by_content_length_across_any_split() -> None:
    stream = b"\r\n\r\n" + message(b"v=0\r\n") + b"\r\n" + message(length="l")
    for size in (1, 2, 3, 7, len(stream)):
        framer = StreamFramer()
        frames = []
        for start in range(0, len(stream), size):
            frames += framer.feed(stream[start : start + size])
        assert frames == [PING, message(b"v=0\r\n"), message(length="l")]
        assert parse_message(frames[1]).body == b"v=0\r\n"


def test_the_framer_refuses_what_would_buffer_without_bound() -> None:
    with pytest.raises(SipParseError, match="without Content-Length"):
        StreamFramer().feed(OPTIONS + b"\r\n")
    with pytest.raises(SipParseError, match="body of"):
        StreamFramer().feed(OPTIONS + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode())
    framer = StreamFramer()
    assert framer.feed(b"OPTIONS sip:gw SIP/2.0\r\nX: " + b"a" * (MAX_HEADERS - 100)) == []
    with pytest.raises(SipParseError, match="headers longer"):
        framer.feed(b"a" * 200)


def test_uris_for_each_transport() -> None:
    assert transport_uri("u", "h:5", "udp") == "sip:u@h:5"
    assert transport_uri("u", "h", "tcp") == "sip:u@h;transport=tcp"
    assert transport_uri("u", "h", "tls") == "sip:u@h;transport=tls"
    assert transport_uri("u", "h", "tls", "sips") == "sips:u@h"
    assert transport_uri("", "h", "tcp") == "sip:h;transport=tcp"


def test_settings_that_cannot_work_together_are_refused(tmp_path: Path) -> None:
    pem = tmp_path / "ca.pem"
    pem.write_text("not used")
    with pytest.raises(SettingsError, match="udp, tcp or tls"):
        SipTrunk(host="h", transport="sctp")
    with pytest.raises(SettingsError, match='need transport = "tls"'):
        SipTrunk(host="h", transport="udp", tls_ca_file=str(pem))
    with pytest.raises(SettingsError, match="sips needs transport tls"):
        SipTrunk(host="h", transport="tcp", uri_scheme="sips")
    with pytest.raises(SettingsError, match="go together"):
        SipTrunk(host="h", transport="tls", tls_cert_file=str(pem))
    with pytest.raises(SettingsError, match="not a readable file"):
        SipTrunk(host="h", transport="tls", tls_ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="port"):
        SipTrunk(host="h", port=70000)
    # "" lets NAPTR choose: TLS settings are for when it chooses TLS
    assert SipTrunk(host="h", tls_ca_file=str(pem)).tls_ca_file == str(pem)
    assert SipTrunk(host="h", transport="tls").sip_domain == "h"
    assert SipTrunk(host="h", port=5061, transport="tls").sip_domain == "h"


async def test_a_broken_ca_file_is_a_settings_error_when_the_dialer_starts(
    tmp_path: Path,
) -> None:
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    dialer = SipDialer(SipTrunk(host="127.0.0.1", transport="tls", tls_ca_file=str(pem)))
    with pytest.raises(SettingsError, match="TLS files"):
        await dialer.start()


Peer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def scripted(peer: Peer) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def read_message(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(parse_message(head).get("Content-Length") or 0)
    return head + await reader.readexactly(length)


async def dial(port: int, t1_s: float = 0.02, calls: int = 1) -> list[CallOutcome]:
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=port, transport="tcp", t1_s=t1_s))
    try:
        return [
            await dialer.dial(CallRequest(f"v{i}", MOBILE, make_audio(0.1))) for i in range(calls)
        ]
    finally:
        await dialer.aclose()


async def test_a_silent_tcp_trunk_gets_one_invite_and_timer_b() -> None:
    received: list[bytes] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            received.append(data)

    server, port = await scripted(silent)
    async with server:
        (outcome,) = await dial(port)
    assert outcome.status is CallStatus.FAILED
    assert "Timer B" in outcome.detail
    assert b"".join(received).count(b"INVITE sip:") == 1  # Timer A is for UDP only


async def test_a_connection_closed_under_an_invite_fails_it_and_the_next_call_reconnects() -> None:
    connections = 0

    async def hang_up_on_invite(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_message(reader)
        writer.close()

    server, port = await scripted(hang_up_on_invite)
    async with server, asyncio.timeout(10):  # T1 = 0.5 s: Timer B would be 32 s per call
        outcomes = await dial(port, t1_s=0.5, calls=2)
    for outcome in outcomes:
        assert (outcome.status, outcome.q850) == (CallStatus.FAILED, 38)
        assert "TCP connection closed by the peer" in outcome.detail
    assert connections == 2


async def test_a_peer_that_floods_headers_is_cut_off() -> None:
    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_message(reader)
        writer.write(b"SIP/2.0 100 Trying\r\nX: " + b"a" * (MAX_HEADERS + 10))
        await writer.drain()
        await reader.read()  # until we close it

    server, port = await scripted(flood)
    async with server, asyncio.timeout(10):
        (outcome,) = await dial(port, t1_s=0.5)
    assert "TCP connection closed: SIP headers longer than" in outcome.detail


async def test_keep_alive_pings_get_a_pong_and_options_an_answer_on_the_connection() -> None:
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    async def pinging(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_message(reader)  # our INVITE: unanswered
        writer.write(b"\r\n\r\n")
        answers.put_nowait(await reader.readexactly(2))
        writer.write(message())
        answers.put_nowait(await read_message(reader))
        await reader.read()

    server, port = await scripted(pinging)
    async with server:
        task = asyncio.create_task(dial(port, t1_s=0.05))
        assert await answers.get() == b"\r\n"
        answer = parse_message(await answers.get())
        await task
    assert (answer.status, answer.call_id, answer.get("Via")) == (
        200,
        "ka",
        "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKx",
    )


def test_the_trunk_table_takes_transport_and_tls_settings(tmp_path: Path) -> None:
    from voiceotp.delivery.config import DeliverySettings

    ca = tmp_path / "ca.pem"
    ca.write_text("read when the dialer starts")
    trunk = {"host": "sip.example", "transport": "tls", "tls_ca_file": str(ca)}
    settings = DeliverySettings.from_mapping({"dialer": "sip", "trunk": trunk})
    assert settings.trunk is not None
    assert (settings.trunk.transport, settings.trunk.port) == ("tls", 0)
    with pytest.raises(SettingsError, match="need transport"):
        DeliverySettings.from_mapping({"dialer": "sip", "trunk": trunk | {"transport": "tcp"}})


def test_3xx_contacts_are_followed_only_over_the_dialers_transport() -> None:
    from voiceotp.delivery.dialer.sip.message import SipMessage
    from voiceotp.delivery.dialer.sip.redirect import contact_targets

    contacts = ", ".join(
        f"<{uri}>"
        for uri in (
            "sip:a@10.0.0.1",
            "sip:b@10.0.0.2;transport=udp",
            "sip:c@10.0.0.3;transport=tcp",
            "sip:d@10.0.0.4;transport=tls",
            "sips:e@10.0.0.5",
            "tel:+8613800138000",
        )
    )
    moved = SipMessage(status=302, headers=[("Contact", contacts)])

    def reached(kind: str) -> list[tuple[str, int]]:
        return [(t.host, t.port) for t in contact_targets(moved, kind)]

    assert reached("udp") == [("10.0.0.1", 5060), ("10.0.0.2", 5060)]
    assert reached("tcp") == [("10.0.0.1", 5060), ("10.0.0.3", 5060)]
    assert reached("tls") == [("10.0.0.1", 5061), ("10.0.0.4", 5061), ("10.0.0.5", 5061)]


async def test_a_redirector_that_hangs_up_after_its_302_does_not_fail_the_next_target() -> None:
    """The 302 and the end of its connection arrive together: that connection's end is
    about the old target, not the one the call moves to (a defect: it failed the call)."""
    from voiceotp.delivery.dialer.sip.dialog import response_to

    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        invite = parse_message(await read_message(reader))
        writer.write(response_to(invite, 486, "Busy Here").to_bytes())
        await read_message(reader)  # our ACK
        writer.close()

    callee, callee_port = await scripted(busy)

    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        invite = parse_message(await read_message(reader))
        moved = response_to(invite, 302, "Moved Temporarily")
        moved.headers.append(("Contact", f"<sip:x@127.0.0.1:{callee_port};transport=tcp>"))
        writer.write(moved.to_bytes())
        writer.close()  # right away: our ACK will go to a new connection

    redirector, port = await scripted(redirect)
    async with callee, redirector, asyncio.timeout(10):
        (outcome,) = await dial(port, t1_s=0.5)
    assert (outcome.status, outcome.sip_code) == (CallStatus.BUSY, 486), outcome.detail
    assert outcome.detail == f"redirected to 127.0.0.1:{callee_port}; 486 Busy Here"


async def test_the_tcp_listener_takes_a_trunks_requests_and_caps_its_connections() -> None:
    from voiceotp.delivery.dialer.sip.stream import MAX_ACCEPTED

    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=5060, transport="tcp"))
    transport = await dialer.start()
    host, port = transport.local_address
    opened = [  # each from its own host: one host alone has a smaller cap
        await asyncio.open_connection(host, port, local_addr=(f"127.0.1.{i + 1}", 0))
        for i in range(MAX_ACCEPTED + 1)
    ]
    try:
        reader, writer = opened[0]
        writer.write(message())  # an OPTIONS keep-alive from the trunk's side
        answer = parse_message(await asyncio.wait_for(read_message(reader), 5))
        assert (answer.status, answer.call_id) == (200, "ka")
        extra_reader, _ = opened[-1]
        # closed by us (an abort: EOF or a reset, whichever the kernel shows)
        with contextlib.suppress(ConnectionResetError):
            assert await asyncio.wait_for(extra_reader.read(), 5) == b""
    finally:
        for _, writer in opened:
            writer.close()
        await dialer.aclose()


def test_the_framer_finds_content_length_on_any_header_line() -> None:
    """Content-Length anywhere but last (as many trunks write it) frames the message; a
    defect read it on the last line only and aborted the connection."""
    head, _, rest = message(b"v=0\r\n").partition(b"Call-ID")
    reordered = head + b"Content-Length: 5\r\nCall-ID" + rest.replace(b"Content-Length: 5\r\n", b"")
    assert reordered.index(b"Content-Length") < reordered.index(b"CSeq")
    assert StreamFramer().feed(reordered + message()) == [reordered, message()]


def test_the_framer_refuses_lengths_the_parser_could_read_otherwise() -> None:
    twice = OPTIONS + b"Content-Length: 0\r\nl: 5\r\n\r\nhello"
    folded = OPTIONS + b"Content-Length: 0\r\n 5\r\n\r\nhello"
    for stream in (twice, folded):
        with pytest.raises(SipParseError, match="Content-Length"):
            StreamFramer().feed(stream)
    with pytest.raises(SipParseError, match="body of"):  # not a ValueError from int()
        StreamFramer().feed(OPTIONS + b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n")
    with pytest.raises(SipParseError, match="Content-Length"):
        StreamFramer().feed(OPTIONS + b"Content-Length: -1\r\n\r\n")


async def test_an_accepted_connection_that_sends_no_whole_message_is_closed() -> None:
    """A peer that opens a connection to our listener and sends nothing, or a message a
    byte at a time (slowloris), is closed after 64·T1 without a whole message: before,
    such connections stayed open for good and 64 of them locked a trunk out."""
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=5060, transport="tcp", t1_s=0.02))
    transport = await dialer.start()
    host, port = transport.local_address
    silent = await asyncio.open_connection(host, port)
    slow = await asyncio.open_connection(host, port)
    try:
        slow[1].write(OPTIONS[:30])  # a start that is never finished
        for reader, _ in (silent, slow):
            with contextlib.suppress(ConnectionResetError):
                assert await asyncio.wait_for(reader.read(), 10) == b""
    finally:
        for _, writer in (silent, slow):
            writer.close()
        await dialer.aclose()


async def test_one_host_cannot_take_every_slot_of_the_tcp_listener() -> None:
    from voiceotp.delivery.dialer.sip.stream import MAX_ACCEPTED_PER_HOST

    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=5060, transport="tcp"))
    transport = await dialer.start()
    host, port = transport.local_address
    flood = [
        await asyncio.open_connection(host, port, local_addr=("127.0.0.9", 0))
        for _ in range(MAX_ACCEPTED_PER_HOST + 1)
    ]
    trunk = await asyncio.open_connection(host, port, local_addr=("127.0.0.1", 0))
    try:
        with contextlib.suppress(ConnectionResetError):  # the host's extra one is closed
            assert await asyncio.wait_for(flood[-1][0].read(), 5) == b""
        trunk[1].write(message())  # the trunk's own connection still gets in
        answer = parse_message(await asyncio.wait_for(read_message(trunk[0]), 5))
        assert (answer.status, answer.call_id) == (200, "ka")
    finally:
        for _, writer in [*flood, trunk]:
            writer.close()
        await dialer.aclose()
