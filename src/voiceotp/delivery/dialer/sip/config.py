"""Settings of one SIP trunk."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from importlib.util import find_spec

from voiceotp.delivery.dialer.base import CODECS
from voiceotp.delivery.dialer.sip.dtmf import KEYS
from voiceotp.delivery.dialer.sip.srtp import MODES as SRTP_MODES
from voiceotp.delivery.dialer.sip.tls import check_tls_settings

DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}

__all__ = ["SipTrunk"]


@dataclass(frozen=True)
class SipTrunk:
    """Where and how :class:`~voiceotp.delivery.dialer.sip.SipDialer` places calls.

    Every request goes to ``host:port`` (the trunk acts as our outbound proxy). A host
    name without ``port`` (0) is resolved by RFC 3263 (NAPTR, SRV, A), with failover
    between the targets it gives; ``transport`` (udp, tcp, tls; "": NAPTR decides, else
    udp) fixes the transport. TLS verifies the trunk's certificate against
    ``tls_ca_file`` (default: the system's CAs) for the name ``host`` (or
    ``tls_server_name``); ``tls_cert_file``/``tls_key_file`` present a client
    certificate (mutual TLS). ``uri_scheme = "sips"`` writes sips: URIs over TLS instead
    of ``sip:…;transport=tls``. An INVITE that no target answers at all moves to the next
    target after ``target_timeout_s`` (Timer B, 64·T1 = 32 s, would outlast the ring
    timeout). ``domain``
    names the trunk in URIs (default ``host:port``); ``username``/``password`` answer
    401/407 digest challenges (username defaults to ``from_user``). ``public_host`` is
    the address written in Via, Contact and SDP when it differs from ``bind_host``
    (behind NAT, or binding 0.0.0.0). ``rtp_port_min``..``rtp_port_max`` pins each
    call's RTP (even port) and RTCP (the next odd one) sockets to a range the firewall
    opens (both 0: ephemeral ports). With ``repeat_key`` the callee may press that key
    (RFC 4733 telephone-event, or SIP INFO) during the code or ``repeat_wait_s`` after it
    to hear it again, up to ``max_repeats`` times within the call cap.

    A 301/302 is followed to its Contacts (q-order) at most ``max_redirects`` times (0:
    never), only to the trunk's own address or into ``redirect_networks`` (CIDRs): a
    trunk that could send our calls anywhere would be a toll-fraud vector.

    With ``register`` the dialer REGISTERs ``username`` (or ``from_user``) at ``registrar``
    (``host[:port]``; default the trunk) for ``register_expires`` seconds when it starts,
    refreshes at half the Expires granted, retries failures after ``register_retry_s``
    doubling, and removes the binding when it closes.

    In a list of trunks (:class:`~voiceotp.delivery.dialer.sip.SipTrunkGroup`) ``name``,
    ``priority``, ``weight``, ``max_concurrent``, ``calls_per_s`` choose the trunk of
    each call, and OPTIONS pings every ``options_interval_s`` take a trunk out after
    ``down_after`` misses and back after ``up_after`` answers (docs/sip.md).

    ``srtp`` (SDES, RFC 4568): ``off``; ``offer`` (``a=crypto`` in an RTP/AVP offer: SRTP
    when the answer takes a key, plain RTP otherwise); ``require`` (RTP/SAVP: an answer
    without a usable key is hung up before any media is sent).
    """

    host: str
    port: int = 0  # 0: not fixed (RFC 3263: from SRV, else 5060, 5061 for TLS)
    from_user: str = "voiceotp"
    domain: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    bind_host: str = "127.0.0.1"
    bind_port: int = 0
    public_host: str = ""
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    rtp_port_min: int = 0
    rtp_port_max: int = 0
    t1_s: float = 0.5
    t2_s: float = 4.0
    linger_s: float = 32.0  # Timer D: how long ended calls still re-ACK retransmitted finals
    repeat_key: str = ""  # a key of 0-9 * #: pressing it plays the code again ("": off)
    repeat_wait_s: float = 3.0  # how long after the code we listen for the repeat key
    max_repeats: int = 3
    user_agent: str = "voiceotp"
    max_redirects: int = 3
    redirect_networks: tuple[str, ...] = ()  # beyond the trunk's own address, e.g. its SBCs
    register: bool = False
    registrar: str = ""  # host[:port] of the registrar ("": the trunk's host and port)
    register_expires: int = 3600
    register_retry_s: float = 30.0  # first retry after a failed REGISTER, then doubling
    # Transports and DNS (docs/sip.md, sip/stream.py, sip/tls.py, sip/resolve.py).
    transport: str = ""  # udp | tcp | tls; "": from NAPTR/SRV for a name, else udp
    tls_ca_file: str = ""  # CAs trusted for the trunk's certificate ("": the system's)
    tls_server_name: str = ""  # the name its certificate must carry ("": host)
    tls_cert_file: str = ""  # our client certificate (PEM) for mutual TLS
    tls_key_file: str = field(default="", repr=False)
    uri_scheme: str = "sip"  # "sips": sips: URIs over TLS (RFC 3261 §26.2)
    target_timeout_s: float = 8.0  # a silent target is left for the next after this
    # Several trunks (docs/sip.md, sip/trunks.py and sip/health.py); one trunk ignores these.
    name: str = ""  # in logs, call records and metrics ("": host:port)
    priority: int = 0  # lower first
    weight: int = 1  # among equal priority: weighted random (RFC 2782); 0: after the rest
    max_concurrent: int = 0  # calls at once on this trunk (0: no cap)
    calls_per_s: float = 0.0  # new calls a second on this trunk (0: no cap)
    options_interval_s: float = 30.0  # OPTIONS health ping every ... (0: never, always up)
    options_timeout_s: float = 5.0  # a ping unanswered this long is a miss
    down_after: int = 3  # misses in a row that take the trunk out
    up_after: int = 2  # answers in a row that put it back
    srtp: str = "off"  # "off" | "offer" | "require" (SDES keys in the SDP)

    def __post_init__(self) -> None:
        unknown = [c for c in self.codecs if c not in CODECS]
        if unknown or not self.codecs:
            raise ValueError(f"codecs must be a non-empty subset of {sorted(CODECS)}")
        if self.t1_s <= 0 or self.t2_s < self.t1_s:
            raise ValueError("need 0 < t1_s <= t2_s")
        if self.repeat_key and (len(self.repeat_key) != 1 or self.repeat_key not in KEYS):
            raise ValueError(f"repeat_key must be one of {KEYS!r} or empty")
        if self.repeat_wait_s < 0 or self.max_repeats < 0:
            raise ValueError("repeat_wait_s and max_repeats must not be negative")
        if self.register_expires < 1 or self.register_retry_s <= 0:
            raise ValueError("register_expires and register_retry_s must be positive")
        if self.srtp not in SRTP_MODES:
            raise ValueError(f"srtp must be one of {', '.join(SRTP_MODES)}")
        if self.srtp != "off" and find_spec("pylibsrtp") is None:  # at start, not mid-call
            raise ValueError("srtp needs pylibsrtp: pip install 'voiceotp[sip]'")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        object.__setattr__(self, "redirect_networks", tuple(self.redirect_networks))
        for network in self.redirect_networks:
            ipaddress.ip_network(network, strict=False)  # ValueError for a bad CIDR
        if self.target_timeout_s <= 0:
            raise ValueError("target_timeout_s must be positive")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be 0..65535 (0: from DNS SRV, else the default)")
        check_tls_settings(self)
        _check_routing(self)
        low, high = self.rtp_port_min, self.rtp_port_max
        if (low, high) != (0, 0) and not 1024 <= low < low + low % 2 + 1 <= high <= 65535:
            raise ValueError(
                "rtp_port_min..rtp_port_max must satisfy 1024 <= min < max <= 65535 and hold "
                "an even RTP port with its odd RTCP neighbour (or both be 0 for ephemeral ports)"
            )

    @property
    def registrar_address(self) -> tuple[str, int]:
        """Where REGISTERs go (a name: resolved when the dialer starts; port 0: not fixed)."""
        if not self.registrar:
            return self.host, self.port
        host, _, port = self.registrar.rpartition(":")
        if host and port.isdigit():
            return host, int(port)
        return self.registrar, 0

    @property
    def label(self) -> str:
        """The trunk's name, else ``host:port``: no user, no password."""
        return self.name or (f"{self.host}:{self.port}" if self.port else self.host)

    @property
    def sip_domain(self) -> str:
        default = DEFAULT_PORTS.get(self.transport, 5060)
        plain = self.port in (0, default)
        return self.domain or (self.host if plain else f"{self.host}:{self.port}")


def _check_routing(trunk: SipTrunk) -> None:
    if trunk.weight < 0 or trunk.max_concurrent < 0 or trunk.calls_per_s < 0:
        raise ValueError("weight, max_concurrent and calls_per_s must not be negative")
    if trunk.options_interval_s < 0 or trunk.options_timeout_s <= 0:
        raise ValueError("need options_interval_s >= 0 and options_timeout_s > 0")
    if trunk.down_after < 1 or trunk.up_after < 1:
        raise ValueError("down_after and up_after must be at least 1")
