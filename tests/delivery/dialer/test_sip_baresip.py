"""SRTP against baresip (Debian baresip-core): an independent UA with its own SDES and
SRTP (libre + its srtp module) answers our call, records what it decrypted and sends
SRTP back. Skipped without baresip locally, FAILS under CI=true."""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.delivery.dialer.conftest import make_audio, tone_with_noise
from voiceotp.delivery.dialer import CallRequest, CallStatus
from voiceotp.delivery.dialer.sip import SipDialer, SipTrunk

pytestmark = pytest.mark.timeout(60)
MOBILE = "13800138000"
CONFIG = """\
sip_listen\t127.0.0.1:{port}
audio_source\taufile,{source}
audio_player\taubridge,nowhere
module_path\t/usr/lib/baresip/modules
module\tg711.so
module\tsrtp.so
module\taufile.so
module\taubridge.so
module\tsndfile.so
module_app\taccount.so
snd_path\t{records}
"""


def free_sip_port() -> int:
    """A port free for UDP and TCP, with TCP free on the next one too: baresip listens on
    UDP and TCP at ``sip_listen`` and TLS one above, and stops if any is taken."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            try:
                for tcp_port in (port, port + 1):
                    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                        tcp.bind(("127.0.0.1", tcp_port))
            except OSError:
                continue
            return port


class Baresip:
    def __init__(self, home: Path, port: int, process: subprocess.Popen[bytes]) -> None:
        self.home, self.port, self.process = home, port, process

    @property
    def log(self) -> str:
        return (self.home / "log.txt").read_text(errors="replace")

    def decoded(self) -> list[int]:
        """What baresip decoded of our RTP (its sndfile dump), as 16-bit samples."""
        [path] = (self.home / "records").glob("*-dec.wav")
        with wave.open(str(path)) as dump:
            frames = dump.readframes(dump.getnframes())
        return [
            int.from_bytes(frames[i : i + 2], "little", signed=True)
            for i in range(0, len(frames), 2)
        ]


@pytest.fixture
def baresip(tmp_path: Path) -> Iterator[Callable[[str], Baresip]]:
    binary = shutil.which("baresip")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("baresip (Debian package baresip-core) is required when CI=true")
        pytest.skip("baresip not installed (apt-get install baresip-core)")
    started: list[subprocess.Popen[bytes]] = []

    def start(mediaenc: str) -> Baresip:
        port = free_sip_port()
        (tmp_path / "records").mkdir()
        with wave.open(str(tmp_path / "in.wav"), "wb") as source:  # what it says back
            source.setnchannels(1)
            source.setsampwidth(2)
            source.setframerate(8000)
            source.writeframes(
                b"".join(s.to_bytes(2, "little", signed=True) for s in tone_with_noise(3.0, seed=3))
            )
        config = CONFIG.format(port=port, source=tmp_path / "in.wav", records=tmp_path / "records")
        (tmp_path / "config").write_text(config)
        params = "regint=0;answermode=auto;audio_codecs=PCMU/8000/1,PCMA/8000/1"
        if mediaenc:
            params += f";mediaenc={mediaenc}"
        (tmp_path / "accounts").write_text(f"<sip:{MOBILE}@127.0.0.1>;{params}\n")
        log = (tmp_path / "log.txt").open("wb")
        args = [binary, "-f", str(tmp_path), "-v"]
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        started.append(process)
        peer = Baresip(tmp_path, port, process)
        deadline = time.monotonic() + 20
        while "baresip is ready" not in peer.log:
            assert process.poll() is None, peer.log
            assert time.monotonic() < deadline, peer.log
            time.sleep(0.05)
        return peer

    yield start
    for process in started:
        process.terminate()
        process.wait(10)


def best_correlation(sent: list[int], heard: list[int], max_lag: int = 4000) -> float:
    """The highest correlation of ``sent`` with ``heard`` shifted by 0..max_lag samples
    (its jitter buffer delays the start)."""
    n = 8000  # one second of the prompt
    a = sent[:n]
    mean_a = sum(a) / n
    var_a = sum((x - mean_a) ** 2 for x in a)
    best = 0.0
    for lag in range(0, min(max_lag, len(heard) - n), 8):
        b = heard[lag : lag + n]
        mean_b = sum(b) / n
        var_b = sum((y - mean_b) ** 2 for y in b)
        if var_b:
            cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
            best = max(best, cov / math.sqrt(var_a * var_b))
    return best


@pytest.mark.parametrize(
    ("mediaenc", "srtp"),
    [
        ("srtp-mand", "require"),  # RTP/SAVP both sides
        ("srtp", "offer"),  # best effort both sides: RTP/AVP carrying a=crypto
    ],
)
async def test_baresip_decrypts_our_srtp_and_we_decrypt_its_own(
    baresip: Callable[[str], Baresip], mediaenc: str, srtp: str
) -> None:
    peer = baresip(mediaenc)
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=peer.port, srtp=srtp))
    outcome = await dialer.dial(CallRequest("v-b", MOBILE, make_audio(2.0)))
    await dialer.aclose()

    assert outcome.status == CallStatus.ANSWERED
    assert "over SRTP (AES_CM_128_HMAC_SHA1_80)" in outcome.detail
    assert "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)" in peer.log
    assert outcome.media is not None
    assert outcome.media.received > 50  # its SRTP, decrypted and counted
    assert "failed SRTP authentication" not in outcome.detail
    # > 0.99: the prompt itself (the same tone with other noise correlates ~0.91)
    assert best_correlation(tone_with_noise(2.0), peer.decoded()) > 0.99


async def test_offered_srtp_to_a_plain_baresip_plays_plain_rtp(
    baresip: Callable[[str], Baresip],
) -> None:
    peer = baresip("")  # no media encryption: it ignores a=crypto
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=peer.port, srtp="offer"))
    outcome = await dialer.dial(CallRequest("v-b", MOBILE, make_audio(2.0)))
    await dialer.aclose()

    assert outcome.status == CallStatus.ANSWERED
    assert "SRTP" not in outcome.detail
    assert outcome.media is not None
    assert outcome.media.received > 50
    assert best_correlation(tone_with_noise(2.0), peer.decoded()) > 0.99


async def test_required_srtp_is_refused_by_a_plain_baresip(
    baresip: Callable[[str], Baresip],
) -> None:
    peer = baresip("")  # it does not take RTP/SAVP
    dialer = SipDialer(SipTrunk(host="127.0.0.1", port=peer.port, srtp="require"))
    outcome = await dialer.dial(CallRequest("v-b", MOBILE, make_audio(2.0)))
    await dialer.aclose()

    assert (outcome.status, outcome.sip_code) == (CallStatus.FAILED, 488)
    assert outcome.answer_at is None
    assert outcome.media is None
