"""RTP for G.711 (RFC 3550, RFC 3551): packets of 20 ms sent on a drift-free schedule.

One :class:`RtpPacer` task serves every stream of a dialer. Streams start on a shared
5 ms grid of the monotonic clock and sit in one of four slots by their phase on it, so
a tick visits only the quarter of the streams that is due (1,000 calls cost 200
wake-ups and 50,000 packets a second, not 200,000 stream visits). Packet *n* of a
stream is due at ``start + n * 20 ms``; a late tick sends every packet that is due, so
timing errors never accumulate. How late each packet left is kept for the benchmark.

The per-packet path is kept short: frames are sliced once, the header is one
``struct.pack``, and the packet goes straight to the call's non-blocking socket (a full
socket buffer drops that packet, as real-time media must, instead of queueing it late).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import secrets
import struct
import time
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "FRAME_BYTES",
    "FRAME_S",
    "DatagramSink",
    "RtpPacer",
    "RtpStream",
    "calm_garbage_collector",
    "rtp_packet",
]

FRAME_S = 0.020
FRAME_BYTES = 160  # 20 ms of 8 kHz G.711
_SILENCE = {0: 0xFF, 8: 0xD5}  # µ-law and A-law encodings of zero
_HEADER = struct.Struct("!BBHII")
# Streams start on a 5 ms grid: a tick serves about a quarter of the calls, so the last
# packet of a tick leaves sooner, at the cost of at most 200 wake-ups a second.
_GRID_S = FRAME_S / 4
_SLOTS = round(FRAME_S / _GRID_S)
_MAX_CATCH_UP = 2 * _SLOTS  # ticks served after a stall before skipping to the present


def calm_garbage_collector() -> None:
    """For a process that paces RTP, once its start-up is done: the objects alive now
    (modules, settings, the app) leave every future collection (``gc.freeze``), and the
    older generations are collected less often. A full collection walks every tracked
    object and stops all streams meanwhile: bench/dialer.py measured 180 ms at 1,000
    calls on a loaded machine, an RTP gap every callee would hear."""
    gc.collect()
    gc.freeze()
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(young, middle, max(oldest, 1_000))  # full collections: rare


class DatagramSink(Protocol):
    """Where a stream's packets go: a non-blocking UDP socket (or an asyncio transport)."""

    def sendto(self, data: bytes, address: tuple[str, int], /) -> object: ...


def rtp_packet(
    payload_type: int, seq: int, timestamp: int, ssrc: int, payload: bytes, *, marker: bool
) -> bytes:
    """One RTP packet: version 2, no padding, extension or CSRC."""
    second = (0x80 if marker else 0) | payload_type
    return _HEADER.pack(0x80, second, seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + payload


class RtpStream:
    """One outgoing stream of G.711 ``payload`` to ``address`` through ``sink``.

    ``protect`` (SRTP) turns each RTP packet into what goes on the wire."""

    def __init__(
        self,
        sink: DatagramSink,
        address: tuple[str, int],
        payload: bytes,
        payload_type: int,
        start: float,
        protect: Callable[[bytes], bytes] | None = None,
    ) -> None:
        remainder = len(payload) % FRAME_BYTES
        if remainder:
            payload += bytes([_SILENCE.get(payload_type, 0)]) * (FRAME_BYTES - remainder)
        self.sink = sink
        self.address = address
        self.payload = payload
        self.protect = protect
        self._frames = [payload[i : i + FRAME_BYTES] for i in range(0, len(payload), FRAME_BYTES)]
        self.payload_type = payload_type
        self.start = start
        self.ssrc = secrets.randbits(32)
        self.first_seq = secrets.randbits(16)
        self.first_timestamp = secrets.randbits(32)
        self.sent = 0
        self.dropped = 0  # packets the socket refused (buffer full, closed)
        self._pass_start = 0  # packet number where the current pass over the payload began
        self._marker_at = 0  # packet number that starts a talkspurt (RFC 3551 §4.1)
        self._silence = 0  # timestamp units of pauses between passes
        self.done = asyncio.Event()
        #: Called once when the stream ends (played out or stopped).
        self.on_done: Callable[[], None] | None = None
        self.slot = -1  # the pacer's slot while it paces this stream

    @property
    def frames(self) -> int:
        return len(self._frames)

    @property
    def next_due(self) -> float:
        return self.start + self.sent * FRAME_S

    def send_due(self, clock: Callable[[], float], lateness: collections.deque[float]) -> None:
        """Send every packet due by now, recording how late each one left."""
        frames, first, end = self._frames, self._pass_start, self._pass_start + len(self._frames)
        header, sink, address, protect = _HEADER.pack, self.sink, self.address, self.protect
        while self.sent < end:
            sent = self.sent
            due = self.start + sent * FRAME_S
            now = clock()
            if due > now:
                return
            packet = (
                header(
                    0x80,
                    (0x80 if sent == self._marker_at else 0) | self.payload_type,
                    (self.first_seq + sent) & 0xFFFF,
                    (self.first_timestamp + sent * FRAME_BYTES + self._silence) & 0xFFFFFFFF,
                    self.ssrc,
                )
                + frames[sent - first]
            )
            try:
                sink.sendto(packet if protect is None else protect(packet), address)
            except OSError:  # full buffer (drop rather than send late), closed socket
                self.dropped += 1
            lateness.append(now - due)
            self.sent = sent + 1
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
        self._slots: list[set[RtpStream]] = [set() for _ in range(_SLOTS)]
        self._task: asyncio.Task[None] | None = None
        #: Seconds each packet left after its due time (the most recent ``keep`` packets).
        self.lateness: collections.deque[float] = collections.deque(maxlen=keep)

    @property
    def active_streams(self) -> int:
        return sum(len(slot) for slot in self._slots)

    def start(
        self,
        sink: DatagramSink,
        address: tuple[str, int],
        payload: bytes,
        payload_type: int,
        protect: Callable[[bytes], bytes] | None = None,
    ) -> RtpStream:
        """Begin streaming on the next tick of the shared grid."""
        stream = RtpStream(sink, address, payload, payload_type, self._next_tick(), protect)
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

    def _tick_of(self, when: float) -> int:
        return round((when - self._origin) / _GRID_S)

    def _next_tick(self) -> float:
        return self._origin + (int((self._clock() - self._origin) / _GRID_S) + 1) * _GRID_S

    def _pace(self, stream: RtpStream) -> None:
        slot = self._tick_of(stream.next_due) % _SLOTS
        if stream.slot not in (-1, slot):
            self._slots[stream.slot].discard(stream)
        stream.slot = slot
        self._slots[slot].add(stream)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rtp-pacer")

    def _serve(self, slot: set[RtpStream]) -> None:
        clock, lateness = self._clock, self.lateness
        ended: list[RtpStream] = []
        for stream in list(slot):  # a callback may start or replay a stream meanwhile
            if not stream.done.is_set():
                stream.send_due(clock, lateness)
            if stream.done.is_set():
                ended.append(stream)
        for stream in ended:
            slot.discard(stream)
            stream.slot = -1

    async def _run(self) -> None:
        tick = self._tick_of(self._clock())
        while any(self._slots):
            now_tick = int((self._clock() - self._origin) / _GRID_S)
            tick = max(tick, now_tick - _MAX_CATCH_UP)
            while tick <= now_tick:
                self._serve(self._slots[tick % _SLOTS])
                tick += 1
            await asyncio.sleep(max(0.0, self._origin + tick * _GRID_S - self._clock()))

    async def aclose(self) -> None:
        """Stop every stream and the pacing task."""
        for slot in self._slots:
            for stream in slot:
                stream.stop()
            slot.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
