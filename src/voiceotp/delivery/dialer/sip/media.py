"""The media side of one call: what arrives on its RTP and RTCP sockets, and the RTCP
reports it sends (RFC 3550) while our RTP stream plays."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from voiceotp.delivery.dialer.base import MediaQuality
from voiceotp.delivery.dialer.rtp import FRAME_BYTES, RtpStream
from voiceotp.delivery.dialer.sip.rtcp import (
    CLOCK_RATE,
    ReceptionStats,
    ReportBlock,
    bye,
    next_interval,
    parse_compound,
    sdes_cname,
    sender_report,
)

__all__ = [
    "MediaPorts",
    "RtcpReceiver",
    "RtcpSender",
    "RtpReceiver",
    "media_quality",
    "media_summary",
]

Address = tuple[str, int]
#: SRTP/SRTCP unprotect: the plain packet, or ``None`` when it fails authentication.
Unprotect = Callable[[bytes], "bytes | None"]
_RTP_HEADER = struct.Struct("!BBHII")
_unpack_header = _RTP_HEADER.unpack_from
_monotonic = time.monotonic


class RtpReceiver(asyncio.DatagramProtocol):
    """The call's RTP socket: what the callee sends is counted (loss, jitter) and, for a
    telephone-event payload type, handed to ``on_event`` (payload, RTP timestamp). With
    SRTP, ``unprotect`` first: a packet that fails it is dropped and not counted."""

    def __init__(self) -> None:
        self.stats = ReceptionStats()
        self.event_payload_types: frozenset[int] = frozenset()
        self.on_event: Callable[[bytes, int], None] | None = None
        self.unprotect: Unprotect | None = None

    def datagram_received(self, data: bytes, addr: Address) -> None:
        # 50,000 calls a second at 1,000 calls: kept to module-level names, no keywords
        if len(data) < 12 or data[0] >> 6 != 2:
            return
        if self.unprotect is not None:
            plain = self.unprotect(data)
            if plain is None:
                return
            data = plain
        first, second, seq, timestamp, ssrc = _unpack_header(data)
        if second & 0x7F not in self.event_payload_types:
            self.stats.on_packet(ssrc, seq, timestamp, _monotonic(), True)
            return
        self.stats.on_packet(ssrc, seq, timestamp, _monotonic(), False)
        if self.on_event is not None:
            start = 12 + 4 * (first & 0x0F)
            if first & 0x10 and len(data) >= start + 4:  # header extension
                start += 4 + 4 * struct.unpack_from("!H", data, start + 2)[0]
            self.on_event(data[start:], timestamp)


class RtcpReceiver(asyncio.DatagramProtocol):
    """The call's RTCP socket: keeps the callee's last report about each source, and
    when its last SR arrived (for the LSR/DLSR of our own reports)."""

    def __init__(self) -> None:
        self.reports: dict[int, ReportBlock] = {}
        self.last_sr: tuple[int, float] | None = None  # NTP middle bits, monotonic arrival
        self.received = 0
        self.unprotect: Unprotect | None = None  # SRTCP

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if self.unprotect is not None:
            plain = self.unprotect(data)
            if plain is None:
                return
            data = plain
        self.received += 1
        for _type, _sender, blocks, middle in parse_compound(data):
            if middle:
                self.last_sr = (middle, time.monotonic())
            for block in blocks:
                self.reports[block.ssrc] = block


@dataclass
class MediaPorts:
    """One call's RTP socket (even port) and RTCP socket (the next, odd one); the pacer
    sends RTP on ``rtp_socket`` itself, past the transport (which reads it)."""

    rtp: asyncio.DatagramTransport
    rtcp: asyncio.DatagramTransport
    rtp_in: RtpReceiver
    rtcp_in: RtcpReceiver
    rtp_socket: socket.socket

    @property
    def port(self) -> int:
        return int(self.rtp.get_extra_info("sockname")[1])

    def close(self) -> None:
        self.rtp.close()
        self.rtcp.close()


class RtcpSender:
    """Sends SR + SDES compounds for ``stream`` every ~5 s (the first after ~2.5 s) and a
    final SR + SDES + BYE from :meth:`close`."""

    def __init__(
        self,
        ports: MediaPorts,
        address: Address,
        stream: RtpStream,
        cname: str,
        *,
        interval: Callable[..., float] = next_interval,
        protect: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.ports = ports
        self.address = address
        self.stream = stream
        self.cname = cname
        self._interval = interval  # (first=bool) -> seconds
        self._protect = protect  # SRTCP
        self.sent = 0
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._schedule(first=True)

    def close(self) -> None:
        """Stop the reports; say goodbye (RFC 3550 §6.3.7)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._send(bye(self.stream.ssrc))

    def _schedule(self, *, first: bool) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._interval(first=first), self._tick)

    def _tick(self) -> None:
        self._send()
        self._schedule(first=False)

    def _send(self, tail: bytes = b"") -> None:
        stream, rtcp_in = self.stream, self.ports.rtcp_in
        lsr, dlsr = 0, 0
        if rtcp_in.last_sr is not None:
            lsr = rtcp_in.last_sr[0]
            dlsr = int((time.monotonic() - rtcp_in.last_sr[1]) * 65536)
        report = sender_report(
            stream.ssrc,
            unix_s=time.time(),
            rtp_timestamp=stream.timestamp_at(time.monotonic()),  # the pacer's default clock
            packets=stream.sent,
            octets=stream.sent * FRAME_BYTES,
            block=self.ports.rtp_in.stats.report(lsr, dlsr),
        )
        packet = report + sdes_cname(stream.ssrc, self.cname) + tail
        if self._protect is not None:
            packet = self._protect(packet)
        if not self.ports.rtcp.is_closing():
            self.ports.rtcp.sendto(packet, self.address)
            self.sent += 1


def media_summary(ports: MediaPorts, ssrc: int) -> str:
    """What the call record keeps of the media: the callee's RTP as we received it and
    what its RTCP said about ours."""
    stats = ports.rtp_in.stats
    if stats.received:
        text = (
            f"RTP in {stats.received} packets, {max(0, stats.lost)} lost, "
            f"jitter {_ms(stats.jitter)} ms"
        )
    else:
        text = "no RTP from callee"
    theirs = ports.rtcp_in.reports.get(ssrc)
    if theirs is not None:
        text += (
            f"; callee RTCP: {max(0, theirs.cumulative_lost)} lost "
            f"({theirs.fraction_lost * 100:.1f} %), jitter {_ms(theirs.jitter)} ms"
        )
    return text


def media_quality(ports: MediaPorts, ssrc: int) -> MediaQuality:
    """The same figures as :func:`media_summary`, as the call record's columns keep them."""
    stats = ports.rtp_in.stats
    theirs = ports.rtcp_in.reports.get(ssrc)
    return MediaQuality(
        received=stats.received,
        lost=max(0, stats.lost),
        jitter_ms=round(stats.jitter / CLOCK_RATE * 1000, 2),
        callee_lost=None if theirs is None else max(0, theirs.cumulative_lost),
        callee_jitter_ms=None if theirs is None else round(theirs.jitter / CLOCK_RATE * 1000, 2),
    )


def _ms(units: float) -> str:
    return f"{units / CLOCK_RATE * 1000:.1f}"
