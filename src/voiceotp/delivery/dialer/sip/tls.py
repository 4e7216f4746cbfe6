"""TLS towards a SIP trunk: the client context and the settings that make one.

The trunk's certificate is always verified (RFC 5922: against the name we were
configured with, not a name DNS handed us), by the CAs of ``tls_ca_file`` or else the
system's. There is no switch to turn verification off: a self-signed trunk is trusted by
naming its certificate (or its CA) in ``tls_ca_file``. ``tls_cert_file``/``tls_key_file``
present our certificate to trunks that ask for one (mutual TLS).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TYPE_CHECKING

from voiceotp.errors import SettingsError

if TYPE_CHECKING:
    from voiceotp.delivery.dialer.sip.config import SipTrunk

__all__ = ["check_tls_settings", "client_context", "required_transport", "tls_failure"]

_TLS_ONLY = ("tls_ca_file", "tls_server_name", "tls_cert_file", "tls_key_file")


def check_tls_settings(trunk: SipTrunk) -> None:
    """Raise :class:`SettingsError` for a transport/TLS combination that cannot work."""
    if trunk.transport not in ("", "udp", "tcp", "tls"):
        raise SettingsError(f"trunk transport must be udp, tcp or tls, not {trunk.transport!r}")
    if trunk.uri_scheme not in ("sip", "sips"):
        raise SettingsError("trunk uri_scheme must be sip or sips")
    if trunk.uri_scheme == "sips" and trunk.transport not in ("", "tls"):
        raise SettingsError("uri_scheme sips needs transport tls (RFC 3261 §26.2)")
    given = [name for name in _TLS_ONLY if getattr(trunk, name)]
    if given and trunk.transport in ("udp", "tcp"):
        raise SettingsError(
            f"{', '.join(given)} set but trunk transport is {trunk.transport}: "
            'TLS settings need transport = "tls" (or "" to let DNS choose)'
        )
    if bool(trunk.tls_cert_file) != bool(trunk.tls_key_file):
        raise SettingsError("tls_cert_file and tls_key_file go together (mutual TLS)")
    for name in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
        path = getattr(trunk, name)
        if path and not Path(path).is_file():
            raise SettingsError(f"trunk {name} {path!r} is not a readable file")


def required_transport(trunk: SipTrunk) -> str:
    """The trunk's transport, or ``"tls"`` when it leaves the choice to DNS but asks for
    TLS (``sips`` URIs or a TLS setting): unsigned DNS must not downgrade it to a transport
    in the clear (RFC 3263 §4.1: a SIPS URI is reached over TLS only)."""
    if trunk.transport:
        return trunk.transport
    wants_tls = trunk.uri_scheme == "sips" or any(getattr(trunk, name) for name in _TLS_ONLY)
    return "tls" if wants_tls else ""


def client_context(trunk: SipTrunk) -> ssl.SSLContext:
    """A TLS 1.2+ client context verifying the trunk (host name checked by the caller's
    ``server_hostname``)."""
    try:
        context = ssl.create_default_context(cafile=trunk.tls_ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if trunk.tls_cert_file:
            context.load_cert_chain(trunk.tls_cert_file, trunk.tls_key_file)
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(f"cannot load the trunk's TLS files: {exc}") from exc
    return context


def server_name(trunk: SipTrunk) -> str:
    """The name the trunk's certificate must carry (an IP address matches an IP SAN)."""
    return trunk.tls_server_name or trunk.host


def tls_failure(exc: BaseException) -> str:
    """A short reason for a failed handshake, for the call record."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    return f"TLS handshake failed: {exc}"
