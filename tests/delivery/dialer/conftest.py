from __future__ import annotations

import math
import random
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.delivery.dialer.sipp import Sipp
from voiceotp.delivery.dialer import g711


def tone_with_noise(seconds: float, seed: int = 7) -> list[int]:
    """A 440 Hz tone plus noise: aperiodic enough that misordered packets would show."""
    rng = random.Random(seed)
    return [
        int(9000 * math.sin(2 * math.pi * 440 * i / 8000) + rng.gauss(0, 2000))
        for i in range(int(seconds * 8000))
    ]


def make_audio(seconds: float) -> dict[str, bytes]:
    samples = tone_with_noise(seconds)
    return {codec: g711.encode(codec, samples) for codec in ("PCMU", "PCMA")}


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    started: list[Sipp] = []

    def start(scenario: str, **kwargs: object) -> Sipp:
        process = Sipp(scenario, tmp_path, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def bind_media_pair() -> tuple[socket.socket, socket.socket]:
    """Two sockets on an even port and the odd one after it (RTP, RTCP: RFC 3550 §11)."""
    while True:
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        port = rtp.getsockname()[1]
        rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if port % 2:
                raise OSError("odd port")
            rtcp.bind(("127.0.0.1", port + 1))
        except OSError:
            rtp.close()
            rtcp.close()
            continue
        for sock in (rtp, rtcp):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.setblocking(False)
        return rtp, rtcp


@pytest.fixture
def media_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    pair = bind_media_pair()
    yield pair
    for sock in pair:
        sock.close()


@pytest.fixture
def rtp_sink(media_pair: tuple[socket.socket, socket.socket]) -> socket.socket:
    """A UDP socket the test owns, named as the callee's RTP address in sipp's SDP."""
    return media_pair[0]


@pytest.fixture
def rtcp_sink(media_pair: tuple[socket.socket, socket.socket]) -> socket.socket:
    """The callee's RTCP socket: the port after :func:`rtp_sink`'s."""
    return media_pair[1]
