"""RTCP packets and reception statistics, sans I/O (RFC 3550 §6, appendix A)."""

from __future__ import annotations

import asyncio
import random
import socket
import struct

from voiceotp.delivery.dialer.rtp import RtpPacer
from voiceotp.delivery.dialer.sip.media import RtcpSender
from voiceotp.delivery.dialer.sip.rtcp import (
    ReceptionStats,
    ReportBlock,
    bye,
    next_interval,
    ntp_time,
    parse_compound,
    sdes_cname,
    sender_report,
)
from voiceotp.delivery.dialer.sip.rtpport import RtpPorts


def test_report_block_round_trips_a_negative_cumulative_loss() -> None:
    block = ReportBlock(0xDEADBEEF, 0.25, -2, 70000, 123, 0x11223344, 655)
    assert ReportBlock.unpack(block.pack()) == block  # duplicates make "lost" negative


def test_compound_lengths_and_fields() -> None:
    block = ReportBlock(7, 0.5, 3, 99, 40)
    packet = (
        sender_report(1, unix_s=0.5, rtp_timestamp=160, packets=2, octets=320, block=block)
        + sdes_cname(1, "abcde")
        + bye(1)
    )
    parsed = parse_compound(packet)
    assert [(t, sender) for t, sender, _, _ in parsed] == [(200, 1)]  # SDES, BYE skipped
    assert parsed[0][2] == [block]
    assert parsed[0][3] == ((ntp_time(0.5)[0] & 0xFFFF) << 16) | (ntp_time(0.5)[1] >> 16)
    assert len(sdes_cname(1, "abcde")) % 4 == 0
    assert struct.unpack_from("!IIIIII", packet, 4)[3:] == (160, 2, 320)


def test_reception_stats_count_loss_across_a_sequence_wrap_and_skip_other_sources() -> None:
    stats = ReceptionStats()
    for n, seq in enumerate((65533, 65534, 0, 2, 3)):  # 65535 and 1 lost, wrap in between
        stats.on_packet(5, seq, n * 160, n * 0.02, media=True)
    stats.on_packet(6, 4, 0, 0.1, media=True)  # another SSRC: not the callee's stream
    assert (stats.received, stats.expected, stats.lost) == (5, 7, 2)
    assert stats.extended_max == 65536 + 3
    block = stats.report()
    assert block is not None
    assert (block.cumulative_lost, round(block.fraction_lost, 3)) == (2, round(2 / 7, 3))
    assert stats.report().fraction_lost == 0  # type: ignore[union-attr]  # nothing new


def test_jitter_follows_the_rfc_estimator() -> None:
    stats = ReceptionStats()
    stats.on_packet(5, 1, 0, 0.0, media=True)
    stats.on_packet(5, 2, 160, 0.030, media=True)  # 10 ms late: D = 80 units
    stats.on_packet(5, 3, 320, 0.030, media=False)  # an event packet: jitter unchanged
    assert stats.jitter == 80 / 16


def test_report_interval_is_the_randomised_minimum() -> None:
    rng = random.Random(1)
    firsts = [next_interval(first=True, rng=rng) for _ in range(200)]
    laters = [next_interval(first=False, rng=rng) for _ in range(200)]
    assert min(firsts) > 2.5 * 0.5 / 1.21828  # (half the 5 s minimum) x 0.5 .. 1.5 / (e - 3/2)
    assert max(firsts) < 2.5 * 1.5 / 1.21828
    assert min(laters) > 5.0 * 0.5 / 1.21828
    assert max(laters) < 5.0 * 1.5 / 1.21828


async def test_reports_repeat_until_the_stream_says_goodbye(
    media_pair: tuple[socket.socket, socket.socket],
) -> None:
    callee_rtp, callee_rtcp = media_pair
    ports = await RtpPorts("127.0.0.1").open()
    pacer = RtpPacer()
    stream = pacer.start(ports.rtp_socket, callee_rtp.getsockname(), b"\xff" * 1600, 0)
    intervals: list[bool] = []

    def interval(*, first: bool) -> float:
        intervals.append(first)
        return 0.01  # instead of ~2.5 s, then ~5 s

    sender = RtcpSender(ports, callee_rtcp.getsockname(), stream, "cname1", interval=interval)
    sender.start()
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        periodic = [await loop.sock_recv(callee_rtcp, 4096) for _ in range(2)]
    sender.close()
    async with asyncio.timeout(5):
        last = await loop.sock_recv(callee_rtcp, 4096)
    await pacer.aclose()
    ports.close()

    assert intervals[:2] == [True, False]
    assert [p[1] for p in periodic] == [200, 200]  # SR first in every compound
    assert all(struct.unpack_from("!I", p, 4)[0] == stream.ssrc for p in (*periodic, last))
    assert [t for t, _, _, _ in parse_compound(last)] == [200]
    assert last[-8:-4] == struct.pack("!BBH", 0x81, 203, 1)  # ends with our BYE
    assert b"cname1" in last
