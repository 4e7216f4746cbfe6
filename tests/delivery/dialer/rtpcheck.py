"""Read back the RTP a test sink received and compare it with the audio sent."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from voiceotp.delivery.dialer import g711


@dataclass
class Packet:
    marker: bool
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes


def drain(sock: socket.socket) -> list[Packet]:
    packets = []
    while True:
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return packets
        first, second, seq, timestamp, ssrc = struct.unpack("!BBHII", data[:12])
        assert first == 0x80, "RTP version 2, no padding/extension/CSRC"
        packets.append(Packet(bool(second & 0x80), second & 0x7F, seq, timestamp, ssrc, data[12:]))


def reassemble(packets: list[Packet]) -> bytes:
    """Payload placed by sequence number (robust to reordering)."""
    first = packets[0].seq
    ordered = sorted(packets, key=lambda p: (p.seq - first) & 0xFFFF)
    return b"".join(p.payload for p in ordered)


def correlation(codec: str, sent: bytes, received: bytes) -> float:
    a = g711.decode(codec, sent)
    b = g711.decode(codec, received[: len(sent)])
    n = min(len(a), len(b))
    if n == 0:
        return 0.0
    mean_a, mean_b = sum(a[:n]) / n, sum(b[:n]) / n
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a[:n], b[:n], strict=True))
    var_a = sum((x - mean_a) ** 2 for x in a[:n])
    var_b = sum((y - mean_b) ** 2 for y in b[:n])
    return cov / (var_a * var_b) ** 0.5 if var_a and var_b else 0.0


@dataclass
class SenderReport:
    """The SR at the head of an RTCP compound, and the types of the packets after it."""

    ssrc: int
    rtp_timestamp: int
    packets: int
    octets: int
    types: list[int]


def drain_rtcp(sock: socket.socket) -> list[tuple[SenderReport, tuple[str, int]]]:
    """Every RTCP compound waiting on ``sock``, read independently of the dialer's code."""
    reports = []
    while True:
        try:
            data, source = sock.recvfrom(4096)
        except BlockingIOError:
            return reports
        types, offset = [], 0
        while offset < len(data):
            first, packet_type, words = struct.unpack_from("!BBH", data, offset)
            assert first >> 6 == 2, "RTCP version 2"
            types.append(packet_type)
            offset += 4 + 4 * words
        assert offset == len(data), "lengths add up to the datagram"
        ssrc, _msw, _lsw, timestamp, packets, octets = struct.unpack_from("!6I", data, 4)
        reports.append((SenderReport(ssrc, timestamp, packets, octets, types), source))
