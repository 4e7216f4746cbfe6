"""A UDP relay between the dialer and sipp that loses chosen datagrams (a lossy link).

sipp swallows identical retransmissions of a request it has already received, so it
cannot itself "ignore the first INVITE"; losing it on the way is the honest simulation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

Address = tuple[str, int]


class _Side(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.on_datagram(data, addr)


class LossyRelay:
    """Forwards client <-> server, losing the first client datagram starting with ``lose``."""

    def __init__(self, server: Address, lose: bytes) -> None:
        self.server = server
        self.lose = lose
        self.dropped: list[bytes] = []
        self.client: Address | None = None
        self._front: asyncio.DatagramTransport | None = None
        self._back: asyncio.DatagramTransport | None = None

    async def start(self) -> Address:
        loop = asyncio.get_running_loop()
        front, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_client), local_addr=("127.0.0.1", 0)
        )
        back, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_server), local_addr=("127.0.0.1", 0)
        )
        self._front, self._back = front, back  # type: ignore[assignment]
        host, port = front.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def _from_client(self, data: bytes, addr: Address) -> None:
        self.client = addr
        if data.startswith(self.lose) and not self.dropped:
            self.dropped.append(data)
        elif self._back is not None:
            self._back.sendto(data, self.server)

    def _from_server(self, data: bytes, addr: Address) -> None:
        if self._front is not None and self.client is not None:
            self._front.sendto(data, self.client)

    def close(self) -> None:
        for side in (self._front, self._back):
            if side is not None:
                side.close()
