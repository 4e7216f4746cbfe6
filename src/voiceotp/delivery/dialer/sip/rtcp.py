"""RTCP for one G.711 call, sans I/O (RFC 3550 §6, appendix A).

We send sender reports (SR, with a reception report about the callee's stream once it
has sent RTP), an SDES CNAME with each, and a BYE when the call ends. From the callee we
keep reception statistics of its RTP (:class:`ReceptionStats`, A.1/A.3/A.8) and the
last report block it sent about our stream (:class:`ReportBlock`).
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

__all__ = [
    "ReceptionStats",
    "ReportBlock",
    "bye",
    "next_interval",
    "ntp_time",
    "parse_compound",
    "sdes_cname",
    "sender_report",
]

CLOCK_RATE = 8000  # G.711 and telephone-event
SR, RR, SDES, BYE = 200, 201, 202, 203
_NTP_EPOCH_OFFSET = 2208988800  # 1900-01-01 to 1970-01-01
_MIN_INTERVAL_S = 5.0  # §6.2: the fixed minimum; the first report comes at half of it
_COMPENSATION = 2.71828 - 1.5  # §6.3.1: e - 3/2, the timer reconsideration factor
_BLOCK = struct.Struct("!IIIIII")  # ssrc, fraction (8 bits) + lost (24), seq, jitter, lsr, dlsr


@dataclass(frozen=True)
class ReportBlock:
    """One reception report (§6.4.1): how a receiver saw the stream of ``ssrc``."""

    ssrc: int
    fraction_lost: float  # since the previous report, 0.0 - 1.0
    cumulative_lost: int
    highest_seq: int
    jitter: int  # in timestamp units (1/8000 s)
    lsr: int = 0
    dlsr: int = 0

    def pack(self) -> bytes:
        fraction = min(255, max(0, int(self.fraction_lost * 256)))
        lost = max(-(1 << 23), min((1 << 23) - 1, self.cumulative_lost)) & 0xFFFFFF
        return _BLOCK.pack(
            self.ssrc,
            (fraction << 24) | lost,
            self.highest_seq & 0xFFFFFFFF,
            self.jitter,
            self.lsr,
            self.dlsr,
        )

    @classmethod
    def unpack(cls, data: bytes) -> ReportBlock:
        ssrc, word, highest, jitter, lsr, dlsr = _BLOCK.unpack(data)
        lost = word & 0xFFFFFF
        lost = lost - (1 << 24) if lost & 0x800000 else lost  # signed 24 bits
        return cls(ssrc, (word >> 24) / 256, lost, highest, jitter, lsr, dlsr)


class ReceptionStats:
    """Statistics of the callee's RTP stream as we receive it (RFC 3550 A.1, A.3, A.8)."""

    def __init__(self) -> None:
        self.ssrc: int | None = None
        self.received = 0
        self.jitter = 0.0  # timestamp units
        self._base_seq = 0
        self._max_seq = 0
        self._cycles = 0
        self._transit: int | None = None
        self._expected_prior = 0
        self._received_prior = 0

    def on_packet(
        self, ssrc: int, seq: int, timestamp: int, arrival_s: float, media: bool = True
    ) -> None:
        """Count a packet; ``media`` False (a telephone-event) leaves the jitter alone.

        Called for every packet the callee sends (50 a second per call): the common
        case, the next packet of the known source, takes the first branch."""
        if ssrc == self.ssrc:
            delta = (seq - self._max_seq) & 0xFFFF
            if 0 < delta < 3000:
                if seq < self._max_seq:
                    self._cycles += 0x10000
                self._max_seq = seq
        elif self.ssrc is None:
            self.ssrc, self._base_seq, self._max_seq = ssrc, seq, seq
        else:
            return  # another source (a forwarded stream, a pcap replay): not the callee's
        self.received += 1
        if media:
            transit = int(arrival_s * CLOCK_RATE) - timestamp
            previous = self._transit
            self._transit = transit
            if previous is not None:
                jitter = self.jitter
                self.jitter = jitter + (abs(transit - previous) - jitter) / 16

    @property
    def extended_max(self) -> int:
        return self._cycles + self._max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self._base_seq + 1 if self.ssrc is not None else 0

    @property
    def lost(self) -> int:
        return self.expected - self.received

    def report(self, lsr: int = 0, dlsr: int = 0) -> ReportBlock | None:
        """A report block for our next SR (fraction lost since the previous one)."""
        if self.ssrc is None:
            return None
        expected_interval = self.expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior, self._received_prior = self.expected, self.received
        lost_interval = expected_interval - received_interval
        fraction = lost_interval / expected_interval if expected_interval > 0 else 0.0
        return ReportBlock(
            self.ssrc, max(0.0, fraction), self.lost, self.extended_max, int(self.jitter), lsr, dlsr
        )


def ntp_time(unix_s: float) -> tuple[int, int]:
    """(seconds, fraction) of the NTP timestamp for Unix time ``unix_s``."""
    seconds = int(unix_s) + _NTP_EPOCH_OFFSET
    return seconds & 0xFFFFFFFF, int((unix_s % 1) * (1 << 32)) & 0xFFFFFFFF


def _header(count: int, packet_type: int, body: bytes) -> bytes:
    # length: the packet in 32-bit words minus one, i.e. the body's words
    return struct.pack("!BBH", 0x80 | count, packet_type, len(body) // 4) + body


def sender_report(
    ssrc: int,
    *,
    unix_s: float,
    rtp_timestamp: int,
    packets: int,
    octets: int,
    block: ReportBlock | None = None,
) -> bytes:
    """An SR (§6.4.1), with one report block when we have received RTP."""
    msw, lsw = ntp_time(unix_s)
    body = struct.pack(
        "!IIIIII", ssrc, msw, lsw, rtp_timestamp & 0xFFFFFFFF, packets, octets & 0xFFFFFFFF
    )
    if block is not None:
        body += block.pack()
    return _header(1 if block else 0, SR, body)


def sdes_cname(ssrc: int, cname: str) -> bytes:
    """An SDES with one chunk holding our CNAME (§6.5.1), padded to 32 bits."""
    text = cname.encode()[:255]
    chunk = struct.pack("!IBB", ssrc, 1, len(text)) + text + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return _header(1, SDES, chunk)


def bye(ssrc: int) -> bytes:
    """A BYE for our source (§6.6): the stream has ended."""
    return _header(1, BYE, struct.pack("!I", ssrc))


def parse_compound(data: bytes) -> list[tuple[int, int, list[ReportBlock], int]]:
    """(packet type, sender SSRC, report blocks, NTP middle 32 bits of an SR or 0) per
    SR/RR in a compound packet; other packet types are skipped, a malformed one ends it."""
    out: list[tuple[int, int, list[ReportBlock], int]] = []
    offset = 0
    while offset + 8 <= len(data):
        first, packet_type, words = struct.unpack_from("!BBH", data, offset)
        end = offset + 4 + words * 4
        if first >> 6 != 2 or end > len(data):
            break
        count = first & 0x1F
        if packet_type in (SR, RR):
            (sender,) = struct.unpack_from("!I", data, offset + 4)
            blocks_at = offset + (28 if packet_type == SR else 8)
            middle = 0
            if packet_type == SR and end >= offset + 28:
                msw, lsw = struct.unpack_from("!II", data, offset + 8)
                middle = ((msw & 0xFFFF) << 16) | (lsw >> 16)
            blocks = [
                ReportBlock.unpack(data[at : at + 24])
                for at in range(blocks_at, blocks_at + 24 * count, 24)
                if at + 24 <= end
            ]
            out.append((packet_type, sender, blocks, middle))
        offset = end
    return out


def next_interval(*, first: bool, rng: random.Random | None = None) -> float:
    """Seconds to the next report for a two-party call (§6.2, §6.3.1, §6.3.5).

    The bandwidth-derived interval of two parties at 64 kb/s is far below the 5 s
    minimum, so the minimum rules: half of it for the first report, randomised to 0.5 -
    1.5 times and divided by e - 3/2.
    """
    base = _MIN_INTERVAL_S / 2 if first else _MIN_INTERVAL_S
    return base * (rng or random).uniform(0.5, 1.5) / _COMPENSATION
