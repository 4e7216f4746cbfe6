"""Run a real sipp (Debian sip-tester) as the far end of a call, on loopback."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from voiceotp.delivery.dialer.sip.message import SipMessage, parse_message

SCENARIOS = Path(__file__).parent / "scenarios"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"


def require_sipp() -> str:
    """The sipp binary; skip locally without it, but FAIL under CI=true."""
    if not Path(SIPP).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("sipp (Debian package sip-tester) is required when CI=true")
        pytest.skip("sipp not installed (apt-get install sip-tester)")
    return SIPP


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_taken(host: str, port: int, kind: int = socket.SOCK_DGRAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
        return False


class _PortTaken(RuntimeError):
    """sipp could not bind a port (its media port + 2 for video, too) that was free."""


class Sipp:
    """One sipp UAS process playing ``scenario`` for ``calls`` calls."""

    def __init__(
        self,
        scenario: str,
        workdir: Path,
        *,
        calls: int = 1,
        variables: dict[str, str] | None = None,
        extra: list[str] | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",  # another loopback address stands for another machine
        transport: str = "udp",  # or "tcp": one connection per peer (sipp -t t1)
    ) -> None:
        self.transport = transport
        for attempt in range(5):  # a free port (or media port + 2) may be taken meanwhile
            try:
                self._start(scenario, workdir, calls, variables, extra, port, host)
                return
            except _PortTaken:
                if attempt == 4:
                    raise

    def _start(
        self,
        scenario: str,
        workdir: Path,
        calls: int,
        variables: dict[str, str] | None,
        extra: list[str] | None,
        port: int | None,
        host: str,
    ) -> None:
        self.host = host
        self.port = port or (free_tcp_port() if self.transport == "tcp" else free_udp_port())
        self.media_port = free_udp_port()
        self.workdir = workdir
        self.log = workdir / f"sipp-{scenario}.log"
        name = scenario
        if self.log.exists():  # a second sipp of one scenario keeps its own logs
            name = f"{scenario}-{self.port}"
            self.log = workdir / f"sipp-{name}.log"
        args = [require_sipp(), "-sf", str(SCENARIOS / f"{scenario}.xml")]
        args += ["-i", host, "-p", str(self.port), "-mp", str(self.media_port)]
        args += ["-m", str(calls), "-nostdin", "-timeout", "120", "-timeout_error"]
        args += ["-trace_err", "-error_file", str(workdir / f"sipp-{name}-errors.log")]
        args += ["-trace_msg", "-message_file", str(workdir / f"sipp-{name}-messages.log")]
        for variable, value in (variables or {}).items():
            args += ["-set", variable, value]
        if self.transport == "tcp":
            args += ["-t", "t1"]
        args += extra or []
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                args, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_bound()

    def _wait_bound(self) -> None:
        for _ in range(500):
            kind = socket.SOCK_STREAM if self.transport == "tcp" else socket.SOCK_DGRAM
            if _port_taken(self.host, self.port, kind):
                return
            if self.process.poll() is not None:
                text = self.log.read_text(errors="replace")
                if "Address already in use" in text:
                    raise _PortTaken(text)
                raise RuntimeError(f"sipp exited early: {text}")
            time.sleep(0.01)
        raise RuntimeError("sipp did not bind its port")

    def wait(self, timeout: float = 30.0) -> int:
        """sipp's exit code once its calls are done (0: every call passed the scenario)."""
        return self.process.wait(timeout)

    def messages(self) -> str:
        path = self.workdir / f"sipp-{self.log.stem.removeprefix('sipp-')}-messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def received(self) -> list[SipMessage]:
        """The SIP messages sipp received, parsed from its -trace_msg log."""
        return self._logged(f"{self.transport.upper()} message received")

    def sent(self) -> list[SipMessage]:
        return self._logged(f"{self.transport.upper()} message sent")

    def _logged(self, prefix: str) -> list[SipMessage]:
        messages = []
        for block in re.split(r"\n-{20,}[^\n]*\n", "\n" + self.messages()):
            head, _, text = block.strip("\n").partition("\n\n")
            if head.startswith(prefix):
                lines = text.strip("\n").split("\n")
                split = lines.index("") if "" in lines else len(lines)
                raw = "\r\n".join(lines[:split]) + "\r\n\r\n" + "\r\n".join(lines[split + 1 :])
                messages.append(parse_message(raw.encode()))
        return messages

    def errors(self) -> str:
        path = self.workdir / f"sipp-{self.log.stem.removeprefix('sipp-')}-errors.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(2)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
