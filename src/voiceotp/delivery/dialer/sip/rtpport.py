"""Each call's RTP socket, on an ephemeral port or inside the operator's port range.

A carrier-facing firewall usually opens one UDP range for media, so ``SipTrunk`` can pin
RTP to ``rtp_port_min``..``rtp_port_max``. Ports are handed out round-robin (a port
just released may still receive the previous call's late packets) and skipped while
one of our calls holds them; a port another program holds is skipped too.
"""

from __future__ import annotations

import asyncio
import errno

__all__ = ["RtpPorts", "RtpSink"]


class RtpSink(asyncio.DatagramProtocol):
    """The call's RTP socket: we only send; what the callee sends is counted and dropped."""

    def __init__(self) -> None:
        self.received = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1


class RtpPorts:
    """Opens RTP sockets on ``host``; ``low == high == 0`` means ephemeral ports."""

    def __init__(self, host: str, low: int = 0, high: int = 0) -> None:
        self.host = host
        self.low, self.high = low, high
        self._next = low
        self._held: set[int] = set()

    async def open(self) -> asyncio.DatagramTransport:
        """A bound socket; OSError with what to do when none can be had."""
        if not self.low:
            return await self._bind(0)
        size = self.high - self.low + 1
        for _ in range(size):
            port, self._next = self._next, self._next + 1 if self._next < self.high else self.low
            if port in self._held:
                continue
            try:
                return await self._bind(port)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise OSError(
            errno.EADDRINUSE,
            f"no free RTP port in {self.low}-{self.high} ({len(self._held)} held by calls in "
            "flight): widen rtp_port_min..rtp_port_max or lower the calls in flight",
        )

    def release(self, rtp: asyncio.DatagramTransport) -> None:
        port = rtp.get_extra_info("sockname")[1]
        rtp.close()
        self._held.discard(int(port))

    async def _bind(self, port: int) -> asyncio.DatagramTransport:
        loop = asyncio.get_running_loop()
        rtp, _ = await loop.create_datagram_endpoint(RtpSink, local_addr=(self.host, port))
        self._held.add(int(rtp.get_extra_info("sockname")[1]))
        return rtp
