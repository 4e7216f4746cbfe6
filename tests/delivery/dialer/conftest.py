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


@pytest.fixture
def rtp_sink() -> Iterator[socket.socket]:
    """A UDP socket the test owns, named as the callee's RTP address in sipp's SDP."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.setblocking(False)
    yield sock
    sock.close()
