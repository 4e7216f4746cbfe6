"""ICMP errors on the SIP socket: which of our datagrams the network refused (Linux).

A UDP socket that is not connected hears nothing of ICMP unless ``IP_RECVERR`` is set;
then each error is queued with the destination of the datagram it refused and the start
of that datagram (ICMP quotes up to ~548 bytes: the Call-ID of our requests is within
them). RFC 3261 §18.4 asks a transport error to fail the transaction at once, instead
of retransmitting into the void until Timer B.

The queue must be drained: its entries count against the receive buffer and keep the
socket readable. Elsewhere (no ``IP_RECVERR``) nothing is enabled and Timer B decides.
"""

from __future__ import annotations

import errno
import re
import socket
import struct
import sys
from dataclasses import dataclass

__all__ = ["Refusal", "call_id_of", "enable_error_queue", "read_error_queue"]

_IP_RECVERR = getattr(socket, "IP_RECVERR", 11)  # linux/in.h; Python 3.11 lacks the name
_EXTENDED_ERR = struct.Struct("=IBBBBII")  # struct sock_extended_err
_SO_EE_ORIGIN_ICMP = 2
_CALL_ID = re.compile(rb"\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]+)", re.IGNORECASE)
_UNREACHABLE = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}


@dataclass(frozen=True)
class Refusal:
    """The network refused our datagram to ``destination`` (``reason``: what ICMP said)."""

    destination: tuple[str, int]
    reason: str
    call_id: str


def enable_error_queue(sock: socket.socket) -> bool:
    """Ask the kernel to report ICMP errors on the unconnected ``sock``; False if it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
    except OSError:
        return False
    return True


def read_error_queue(sock: socket.socket) -> list[Refusal]:
    """Drain the error queue; the refusals (port, host or network unreachable) in it."""
    refusals: list[Refusal] = []
    while True:
        try:
            data, ancdata, _flags, address = sock.recvmsg(2048, 512, socket.MSG_ERRQUEUE)
        except (BlockingIOError, InterruptedError):
            return refusals
        for level, kind, value in ancdata:
            if level != socket.IPPROTO_IP or kind != _IP_RECVERR:
                continue
            code, origin = _EXTENDED_ERR.unpack_from(value)[:2]
            if origin == _SO_EE_ORIGIN_ICMP and code in _UNREACHABLE:
                destination = (str(address[0]), int(address[1]))
                refusals.append(Refusal(destination, errno.errorcode[code], call_id_of(data)))


def call_id_of(datagram: bytes) -> str:
    """The Call-ID of a (possibly truncated) SIP message, or ``""``."""
    match = _CALL_ID.search(datagram)
    return match.group(1).strip().decode("utf-8", "replace") if match else ""
