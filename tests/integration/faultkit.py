"""The fault suite's own services: a PostgreSQL instance (initdb on a spare port, run as
the postgres user when we are root), a Redis (AOF on), HAProxy with the deploy kit's
config, API processes and SIP dialers (each on a fixed SIP port of its own, so the trunk's
trace tells whose call is whose). Each can be killed and started again; nothing here
touches the machine's shared PostgreSQL or Redis. The trunk is a sipp the suite starts."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SRC = Path(__file__).parents[2] / "src"
KIT = Path(__file__).parents[2] / "deploy"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} does not listen on {port}")


def stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Postgres:
    """A PostgreSQL instance of our own in a temp dir."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="voiceotp-pg-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        return {"user": "postgres", "group": "postgres"}

    def init(self) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        command = [str(PG_BIN / "initdb"), "-D", str(self.root / "data"), "-U", "postgres"]
        command += ["-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C"]
        subprocess.run(command, check=True, capture_output=True, **self._as_postgres())

    def start(self) -> None:
        command = [str(PG_BIN / "postgres"), "-D", str(self.root / "data"), "-p", str(self.port)]
        command += ["-k", str(self.root), "-c", "listen_addresses=127.0.0.1"]
        command += ["-c", "max_connections=200", "-c", "shared_buffers=32MB"]
        log = (self.root / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, **self._as_postgres()
        )
        wait_port(self.port, self.process, "postgres")
        for _ in range(200):  # listening is not accepting: wait out the start-up
            done = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if done.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("postgres did not get ready")

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT): no checkpoint, crash recovery at the next start."""
        stop(self.process, signal.SIGQUIT)

    def destroy(self) -> None:
        stop(self.process, signal.SIGINT)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Redis:
    """A redis-server of our own: AOF fsynced on every write, as a durable queue needs."""

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="voiceotp-redis-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.root), "--appendonly", "yes", "--appendfsync", "always"]
        command += ["--save", ""]
        log = (self.root / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.process, "redis-server")

    def restart(self) -> None:
        """SIGTERM (the AOF is flushed), then start again on the same port and data."""
        stop(self.process)
        self.start()

    def destroy(self) -> None:
        stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)


def haproxy_config(front: int, api_ports: list[int], root: Path) -> Path:
    """The kit's config on this suite's ports (no stats listener; a socket in ``root``)."""
    text = (KIT / "haproxy" / "haproxy.cfg").read_text()
    text = text.replace("bind 0.0.0.0:8080", f"bind 127.0.0.1:{front}")
    text = text.replace("bind 127.0.0.1:8404", f"bind 127.0.0.1:{free_port()}")
    text = text.replace("/run/haproxy/voiceotp.sock", str(root / "haproxy.sock"))
    text = text.replace("log stdout format raw local0 info", "")
    lines = [line for line in text.splitlines() if not line.strip().startswith("server api")]
    at = next(i for i, line in enumerate(lines) if "default-server" in line) + 1
    servers = [f"    server api{i + 1} 127.0.0.1:{p} check" for i, p in enumerate(api_ports)]
    path = root / "haproxy.cfg"
    path.write_text("\n".join(lines[:at] + servers + lines[at:]) + "\n")
    return path


def voiceotp_env(root: Path, database_url: str, redis_url: str, trunk_port: int) -> dict[str, str]:
    """The processes' environment; the dialers call the SIP trunk on ``trunk_port``."""
    delivery: dict[str, Any] = {
        "dialer": "sip",
        "trunk": {"host": "127.0.0.1", "port": trunk_port, "codecs": ["PCMU"]},
        "requeue_after_s": 1,
        "poll_s": 0.1,
        "sweep_every_s": 0.3,
        "ring_timeout_s": 5,
        "max_duration_s": 5,
        "lease_margin_s": 1,
        "redial": {},
        # Enough trunk for the load (the default 10 calls/s per dialer is a real trunk's).
        "calls_per_s": 500,
        "burst": 100,
        "max_concurrent": 200,
        "push_base_s": 0.05,
        "push_cap_s": 0.5,
        "push_poll_s": 0.05,
        "prompt_dir": str(root / "clips"),
        "prompt_cache_dir": str(root / "cache"),
        "prompt_repeat": 1,
    }
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "VOICEOTP_DEV_MODE": "1",
        "VOICEOTP_DATA_DIR": str(root),
        "VOICEOTP_DATABASE_URL": database_url,
        "VOICEOTP_REDIS_URL": redis_url,
        "VOICEOTP_REDIS_PREFIX": "faults:",
        "VOICEOTP_TRUSTED_PROXIES": "127.0.0.1/32",
        "VOICEOTP_ABUSE_DISTINCT_NUMBERS": "0",
        "VOICEOTP_ABUSE_PREFIX_BURST": "0",
        "VOICEOTP_DELIVERY": json.dumps(delivery),
    }


@dataclass
class Fleet:
    """HAProxy + API processes + dialers, each restartable by name."""

    root: Path
    env: dict[str, str]
    api_ports: list[int]
    sip_ports: list[int]  # each dialer's SIP (Via) port, the same across its restarts
    front: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _run(
        self, name: str, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        env = env or self.env
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def start_api(self, index: int) -> None:
        port = self.api_ports[index]
        command = [sys.executable, "-m", "voiceotp", "serve", "--port", str(port)]
        command += ["--no-delivery", "--no-access-log", "--no-console", "--no-user-center"]
        wait_port(port, self._run(f"api{index + 1}", command), f"api{index + 1}")

    def start_dialer(self, index: int) -> None:
        command = [sys.executable, "-m", "voiceotp", "dialer", "--name", f"d{index + 1}"]
        delivery = json.loads(self.env["VOICEOTP_DELIVERY"])
        delivery["trunk"]["bind_port"] = self.sip_ports[index]
        env = {**self.env, "VOICEOTP_DELIVERY": json.dumps(delivery)}
        self._run(f"dialer{index + 1}", command, env)  # with the status push

    def start_haproxy(self) -> None:
        config = haproxy_config(self.front, self.api_ports, self.root)
        process = self._run("haproxy", ["haproxy", "-db", "-f", str(config)])
        wait_port(self.front, process, "haproxy")

    def kill(self, name: str) -> None:
        stop(self.processes.get(name), signal.SIGKILL)

    def stop_all(self) -> dict[str, int | None]:
        for process in self.processes.values():
            stop(process)
        return {name: p.returncode for name, p in self.processes.items()}
