"""RTP for G.711 (RFC 3550, RFC 3551): packets of 20 ms sent on a drift-free schedule.

One :class:`RtpPacer` task serves every stream of a dialer. Streams start on a shared
5 ms grid of the monotonic clock, so a tick wakes once for a quarter of the calls instead
of once per call (hundreds of calls cost at most 200 wake-ups a second). Packet *n* of a
stream is due at ``start + n * 20 ms``; a late tick sends every packet that is due, so
timing errors never accumulate. How late each packet left is kept for the benchmark.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import struct
import time
from collections.abc import Callable

__all__ = ["FRAME_BYTES", "FRAME_S", "RtpPacer", "RtpStream", "rtp_packet"]

FRAME_S = 0.020
FRAME_BYTES = 160  # 20 ms of 8 kHz G.711
_SILENCE = {0: 0xFF, 8: 0xD5}  # µ-law and A-law encodings of zero
_HEADER = struct.Struct("!BBHII")
# Streams start on a 5 ms grid: a tick serves about a quarter of the calls, so the last
# packet of a tick leaves sooner, at the cost of at most 200 wake-ups a second.
_GRID_S = FRAME_S / 4


def rtp_packet(
    payload_type: int, seq: int, timestamp: int, ssrc: int, payload: bytes, *, marker: bool
) -> bytes:
    """One RTP packet: version 2, no padding, extension or CSRC."""
    second = (0x80 if marker else 0) | payload_type
    return _HEADER.pack(0x80, second, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + payload


class RtpStream:
    """One outgoing stream of G.711 ``payload`` to ``address`` over ``transport``."""

    def __init__(
        self,
        transport: asyncio.DatagramTransport,
        address: tuple[str, int],
        payload: bytes,
        payload_type: int,
        start: float,
    ) -> None:
        remainder = len(payload) % FRAME_BYTES
        if remainder:
            payload += bytes([_SILENCE.get(payload_type, 0)]) * (FRAME_BYTES - remainder)
        self.transport = transport
        self.address = address
        self.payload = payload
        self.payload_type = payload_type
        self.start = start
        self.ssrc = secrets.randbits(32)
        self.first_seq = secrets.randbits(16)
        self.first_timestamp = secrets.randbits(32)
        self.sent = 0
        self._pass_start = 0  # packet number where the current pass over the payload began
        self._marker_at = 0  # packet number that starts a talkspurt (RFC 3551 §4.1)
        self._silence = 0  # timestamp units of pauses between passes
        self.done = asyncio.Event()
        #: Called once when the stream ends (played out or stopped).
        self.on_done: Callable[[], None] | None = None

    @property
    def frames(self) -> int:
        return len(self.payload) // FRAME_BYTES

    @property
    def next_due(self) -> float:
        return self.start + self.sent * FRAME_S

    def send_due(self, clock: Callable[[], float], lateness: collections.deque[float]) -> None:
        """Send every packet due by now, recording how late each one left."""
        while self.sent < self._pass_start + self.frames:
            due = self.next_due
            now = clock()
            if due > now:
                return
            offset = (self.sent - self._pass_start) * FRAME_BYTES
            packet = rtp_packet(
                self.payload_type,
                self.first_seq + self.sent,
                self.first_timestamp + self.sent * FRAME_BYTES + self._silence,
                self.ssrc,
                self.payload[offset : offset + FRAME_BYTES],
                marker=self.sent == self._marker_at,
            )
            if not self.transport.is_closing():
                self.transport.sendto(packet, self.address)
            lateness.append(now - due)
            self.sent += 1
        self._finish()

    def timestamp_at(self, when: float) -> int:
        """The RTP timestamp of instant ``when`` (pacer clock), as an RTCP SR states it."""
        return (self.first_timestamp + round((when - self.start) * 8000) + self._silence) & (
            0xFFFFFFFF
        )

    def rewind(self, resume_at: float) -> None:
        """Play the payload again from its start, continuing sequence numbers, timestamps
        and SSRC. A stream that had ended resumes at ``resume_at`` (pacer clock), the pause
        counted in its timestamps; one still playing restarts with its next packet."""
        self._pass_start = self.sent
        if self.done.is_set():
            pause = max(0.0, resume_at - self.next_due)
            self.start += pause
            self._silence += round(pause * 8000)
            self._marker_at = self.sent
            self.done.clear()

    def stop(self) -> None:
        """End the stream early (hang-up or call cap); ``sent`` keeps what was sent."""
        self._finish()

    def _finish(self) -> None:
        if not self.done.is_set():
            self.done.set()
            if self.on_done is not None:
                self.on_done()


class RtpPacer:
    """Paces every active :class:`RtpStream` from one task."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, keep: int = 200_000) -> None:
        self._clock = clock
        self._origin = clock()
        self._streams: set[RtpStream] = set()
        self._task: asyncio.Task[None] | None = None
        #: Seconds each packet left after its due time (the most recent ``keep`` packets).
        self.lateness: collections.deque[float] = collections.deque(maxlen=keep)

    @property
    def active_streams(self) -> int:
        return len(self._streams)

    def start(
        self,
        transport: asyncio.DatagramTransport,
        address: tuple[str, int],
        payload: bytes,
        payload_type: int,
    ) -> RtpStream:
        """Begin streaming on the next tick of the shared grid."""
        stream = RtpStream(transport, address, payload, payload_type, self._next_tick())
        if stream.frames == 0:
            stream.done.set()
            return stream
        self._pace(stream)
        return stream

    def replay(self, stream: RtpStream) -> None:
        """Play ``stream`` again from its start (the callee asked to hear it again)."""
        if stream.frames:
            stream.rewind(self._next_tick())
            self._pace(stream)

    def _next_tick(self) -> float:
        elapsed = self._clock() - self._origin
        return self._origin + (int(elapsed / _GRID_S) + 1) * _GRID_S

    def _pace(self, stream: RtpStream) -> None:
        self._streams.add(stream)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rtp-pacer")

    async def _run(self) -> None:
        while self._streams:
            for stream in list(self._streams):
                if not stream.done.is_set():
                    stream.send_due(self._clock, self.lateness)
                if stream.done.is_set():
                    self._streams.discard(stream)
            if self._streams:
                wake = min(s.next_due for s in self._streams)
                await asyncio.sleep(max(0.0, wake - self._clock()))

    async def aclose(self) -> None:
        """Stop every stream and the pacing task."""
        for stream in self._streams:
            stream.stop()
        self._streams.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
