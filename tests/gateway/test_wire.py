"""CoalescingTransport: writes of one loop pass leave as one; close and abort behave."""

from __future__ import annotations

import asyncio

from voiceotp.gateway.wire import CoalescingTransport


class RecordingTransport(asyncio.Transport):
    """An in-memory transport that records what reaches the socket."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1) if name == "peername" else default


async def next_pass() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_one_pass_of_writes_is_one_send() -> None:
    real = RecordingTransport()
    wire = CoalescingTransport(real, asyncio.get_running_loop())
    wire.write(b"HTTP/1.1 200 OK\r\n\r\n")
    wire.write(memoryview(b"body"))
    assert real.sent == []  # nothing leaves before the pass ends
    await next_pass()
    assert real.sent == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    wire.write(b"next")
    await next_pass()
    assert real.sent[-1] == b"next"
    assert wire.get_extra_info("peername") == ("127.0.0.1", 1)  # the rest is forwarded


async def test_close_sends_what_is_pending_and_abort_drops_it() -> None:
    real = RecordingTransport()
    wire = CoalescingTransport(real, asyncio.get_running_loop())
    wire.write(b"last words")
    wire.close()
    assert real.sent == [b"last words"]
    assert real.closed
    await next_pass()  # the scheduled flush finds nothing more to send
    assert real.sent == [b"last words"]
    other = RecordingTransport()
    wire = CoalescingTransport(other, asyncio.get_running_loop())
    wire.write(b"never")
    wire.abort()
    await next_pass()
    assert other.sent == []
    assert other.aborted
