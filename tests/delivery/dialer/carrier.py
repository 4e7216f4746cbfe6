"""A carrier the test scripts by hand: one UDP socket that receives what the dialer sends
and answers with exactly the bytes a real trunk would (compact headers, Reason, SDP quirks).

sipp plays well-formed scenarios; this plays the odd things carriers do, one message at a
time, so each test states the carrier's behaviour next to its assertions.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

from voiceotp.delivery.dialer.sip.message import SipMessage, parse_message

Address = tuple[str, int]
TAG = "carrier1"


def sdp(port: int, formats: str = "0", extra: Sequence[str] = ("a=rtpmap:0 PCMU/8000",)) -> bytes:
    lines = ["v=0", "o=carrier 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0"]
    lines += [f"m=audio {port} RTP/AVP {formats}", *extra]
    return ("\r\n".join(lines) + "\r\n").encode()


class Carrier:
    """A UDP socket on loopback; ``recv`` returns the dialer's next message."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.dialer: Address | None = None
        self.received: list[SipMessage] = []

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    async def recv(self, method: str | None = None, timeout: float = 5.0) -> SipMessage:
        """The next message (of ``method`` when given; others are kept in ``received``)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while True:
                data, self.dialer = await loop.sock_recvfrom(self.sock, 65535)
                message = parse_message(data)
                self.received.append(message)
                if method is None or message.method == method:
                    return message

    def respond(
        self,
        request: SipMessage,
        status: int,
        reason: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        compact: bool = False,
    ) -> SipMessage:
        """Answer ``request`` (adds our To tag for finals and 18x) and send it."""
        to = request.get("To")
        if status > 100 and "tag=" not in to:
            to += f";tag={TAG}"
        names = ("v", "f", "t", "i") if compact else ("Via", "From", "To", "Call-ID")
        copied = [
            *((names[0], via) for via in request.get_all("Via")),
            (names[1], request.get("From")),
            (names[2], to),
            (names[3], request.call_id),
            ("CSeq", request.get("CSeq")),
        ]
        if body:
            copied.append(("c" if compact else "Content-Type", "application/sdp"))
        message = SipMessage(status=status, reason=reason, headers=[*copied, *headers], body=body)
        self.send(message)
        return message

    def send(self, message: SipMessage, sock: socket.socket | None = None) -> None:
        assert self.dialer is not None, "the dialer has not sent anything yet"
        (sock or self.sock).sendto(message.to_bytes(), self.dialer)

    def request(self, method: str, invite: SipMessage, cseq: int, branch: str) -> SipMessage:
        """An in-dialog request from the callee's side of the dialog ``invite`` opened."""
        return SipMessage(
            method=method,
            uri=invite.get("Contact").strip("<>"),
            headers=[
                ("Via", f"SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{branch}"),
                ("From", f"{invite.get('To')};tag={TAG}"),
                ("To", invite.get("From")),
                ("Call-ID", invite.call_id),
                ("CSeq", f"{cseq} {method}"),
                ("Max-Forwards", "70"),
            ],
        )

    def close(self) -> None:
        self.sock.close()


def rtp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock
