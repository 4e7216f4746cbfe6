"""Each call's RTP and RTCP sockets: an even port for RTP, the next odd one for RTCP
(RFC 3550 §11), ephemeral or inside the operator's port range.

A carrier-facing firewall usually opens one UDP range for media, so ``SipTrunk`` can pin
media to ``rtp_port_min``..``rtp_port_max``. Pairs are handed out round-robin (a pair
just released may still receive the previous call's late packets) and skipped while one
of our calls holds them; a pair another program holds is skipped too. Ephemeral pairs:
the kernel picks a port, we keep it when it is even and its odd neighbour is free.
"""

from __future__ import annotations

import asyncio
import errno
import socket

from voiceotp.delivery.dialer.sip.media import MediaPorts, RtcpReceiver, RtpReceiver

__all__ = ["RtpPorts"]

_EPHEMERAL_TRIES = 64  # each try is even with its neighbour free about half the time


class RtpPorts:
    """Opens RTP/RTCP socket pairs on ``host``; ``low == high == 0`` means ephemeral."""

    def __init__(self, host: str, low: int = 0, high: int = 0) -> None:
        self.host = host
        self.low, self.high = low, high
        self._evens = range(low + low % 2, high, 2)  # every even p with p + 1 <= high
        self._next = 0
        self._held: set[int] = set()

    async def open(self) -> MediaPorts:
        """A bound pair; OSError with what to do when none can be had."""
        if not self.low:
            return await self._open_ephemeral()
        for _ in range(len(self._evens)):
            port = self._evens[self._next]
            self._next = (self._next + 1) % len(self._evens)
            if port in self._held:
                continue
            try:
                return await self._bind_pair(port)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise OSError(
            errno.EADDRINUSE,
            f"no free RTP/RTCP port pair in {self.low}-{self.high} ({len(self._held)} held by "
            "calls in flight): widen rtp_port_min..rtp_port_max or lower the calls in flight",
        )

    def release(self, media: MediaPorts) -> None:
        media.close()
        self._held.discard(media.port)

    async def _open_ephemeral(self) -> MediaPorts:
        for _ in range(_EPHEMERAL_TRIES):
            rtp = self._bind(0)
            port = int(rtp.getsockname()[1])
            if port % 2 == 0 and port < 65535:
                try:
                    return await self._with_rtcp(rtp, port)
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        raise
            else:
                rtp.close()
        raise OSError(errno.EADDRINUSE, "no free even/odd ephemeral port pair for RTP/RTCP")

    async def _bind_pair(self, port: int) -> MediaPorts:
        return await self._with_rtcp(self._bind(port), port)

    def _bind(self, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self.host, port))
        except OSError:
            sock.close()
            raise
        return sock

    async def _with_rtcp(self, rtp_socket: socket.socket, port: int) -> MediaPorts:
        """The RTP socket stays ours to send on (the pacer writes to it directly); asyncio
        reads it and owns the RTCP socket."""
        loop = asyncio.get_running_loop()
        try:
            rtcp_socket = self._bind(port + 1)
        except OSError:
            rtp_socket.close()
            raise
        rtp, rtp_in = await loop.create_datagram_endpoint(RtpReceiver, sock=rtp_socket)
        rtcp, rtcp_in = await loop.create_datagram_endpoint(RtcpReceiver, sock=rtcp_socket)
        self._held.add(port)
        return MediaPorts(rtp, rtcp, rtp_in, rtcp_in, rtp_socket)
