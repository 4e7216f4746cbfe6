"""The sipp trace reader the fault suite and bench/invite.py rely on: a file read while
sipp writes it (a message cut in two is read once it is whole), in sipp's format."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.integration.sipptrace import TraceReader, ended, held, invites

SEPARATOR = "-" * 47


def block(stamp: str, direction: str, message: str) -> str:
    body = message.strip("\n").replace("\n", "\r\n")
    return f"{SEPARATOR} {stamp}\nUDP message {direction} [{len(body)}] bytes :\n\n{body}\r\n\r\n\n"


def request(method: str, user: str, call_id: str, port: int) -> str:
    return f"""
{method} sip:{user}@127.0.0.1:5099 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id}{method}
From: <sip:voiceotp@127.0.0.1>;tag=1
To: <sip:{user}@127.0.0.1>
Call-ID: {call_id}
CSeq: 1 {method}
Content-Length: 0
"""


OK = """
SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1:7001;branch=z9hG4bKaINVITE
Call-ID: a
CSeq: 1 INVITE
Content-Length: 0
"""


def test_a_growing_trace_is_read_whole_messages_once(tmp_path: Path) -> None:
    path = tmp_path / "messages.log"
    text = (
        block("2026-12-08 01:20:51.287967", "received", request("INVITE", "13800000001", "a", 7001))
        + block("2026-12-08 01:20:51.300000", "sent", OK)
        + block(
            "2026-12-08 01:20:51.310000", "received", request("INVITE", "13800000001", "a", 7001)
        )
        + block("2026-12-08 01:20:51.400000", "received", request("ACK", "13800000001", "a", 7001))
        + block(
            "2026-12-08 01:20:51.500000", "received", request("INVITE", "13800000002", "b", 7002)
        )
        + block("2026-12-08 01:20:51.600000", "received", request("ACK", "13800000002", "b", 7002))
        + block("2026-12-08 01:20:52.000000", "received", request("BYE", "13800000002", "b", 7002))
    )
    reader = TraceReader(path)
    assert reader.read() == []  # no file yet
    cut = text.index("Call-ID: b")  # mid-message
    path.write_text(text[:cut])
    first = reader.read()
    assert [m.method or m.first_line for m in first] == [
        "INVITE",
        "SIP/2.0 200 OK",
        "INVITE",
        "ACK",
    ]
    with path.open("a") as handle:
        handle.write(text[cut:])
    assert len(reader.read()) == 2  # the last block waits for the next separator
    assert [m.method for m in reader.read(final=True)] == ["BYE"]
    messages = reader.messages
    assert invites(messages) == {"13800000001": {"a"}, "13800000002": {"b"}}
    again = block(
        "2026-12-08 01:20:53.000000", "received", request("INVITE", "13800000001", "c", 7001)
    )
    path.write_text(text + again)
    assert invites(TraceReader(path).read(final=True))["13800000001"] == {"a", "c"}  # twice
    assert held(messages, 7001) == {"a"}
    assert held(messages, 7002) == set()
    assert ended(messages) == {"b"}
    [invite] = [m for m in messages if m.call_id == "b" and m.method == "INVITE"]
    assert (invite.user, invite.via_port, invite.received) == ("13800000002", 7002, True)
    assert invite.at == datetime(2026, 12, 8, 1, 20, 51, 500000).timestamp()
    assert not messages[1].received
