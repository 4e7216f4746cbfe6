"""A test CA made in the test (``cryptography``) and Debian's haproxy as the TLS end of a
sipp that speaks TCP (Debian's sipp is built without TLS)."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.delivery.dialer.sipp import free_tcp_port


@dataclass
class Issued:
    cert: Path  # PEM certificate
    key: Path  # PEM private key
    bundle: Path  # certificate + key in one file (haproxy's crt)


class TestCA:
    """A self-signed CA that issues server and client certificates into ``directory``."""

    __test__ = False  # not a pytest class

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
        self.cert = (
            self._builder(subject, subject, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = directory / f"{name}-ca.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def _builder(
        self,
        subject: x509.Name,
        issuer: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        *,
        expired: bool = False,
    ) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2 if expired else 0)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))  # expired: ended yesterday
        )

    def issue(
        self, label: str, names: list[str], *, client: bool = False, expired: bool = False
    ) -> Issued:
        """A leaf certificate for DNS names / IP addresses ``names`` (``expired``: its
        validity ended yesterday)."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        purpose = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        cert = (
            self._builder(subject, self.cert.subject, key.public_key(), expired=expired)
            .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        )
        cert = cert.sign(self.key, hashes.SHA256())
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        issued = Issued(*(self.directory / f"{label}.{ext}" for ext in ("crt", "key", "pem")))
        issued.cert.write_bytes(cert_pem)
        issued.key.write_bytes(key_pem)
        issued.bundle.write_bytes(cert_pem + key_pem)
        return issued


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def require_haproxy() -> str:
    path = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(path).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("haproxy (Debian's) is required under CI=true: scripts/setup dev")
        pytest.skip("haproxy is not installed")
    return path


class TlsTerminator:
    """haproxy in TCP mode: TLS on ``port`` (``crt``), plain TCP to ``backend_port``;
    with ``client_ca`` it demands a client certificate issued by that CA."""

    def __init__(
        self,
        directory: Path,
        crt: Path,
        backend_port: int,
        *,
        client_ca: Path | None = None,
    ) -> None:
        self.port = free_tcp_port()
        verify = f" ca-file {client_ca} verify required" if client_ca else ""
        config = directory / f"haproxy-{self.port}.cfg"
        config.write_text(
            "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 60s\n"
            "  timeout server 60s\n"
            f"frontend sip_tls\n  bind 127.0.0.1:{self.port} ssl crt {crt}{verify}\n"
            "  default_backend sipp\n"
            f"backend sipp\n  server sipp 127.0.0.1:{backend_port}\n"
        )
        self.log = directory / f"haproxy-{self.port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [require_haproxy(), "-db", "-f", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_listening()

    def _wait_listening(self) -> None:
        for _ in range(500):
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited: {self.log.read_text(errors='replace')}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.01)
        raise RuntimeError("haproxy did not listen")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
