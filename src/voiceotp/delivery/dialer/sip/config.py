"""Settings of one SIP trunk."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from voiceotp.delivery.dialer.base import CODECS
from voiceotp.delivery.dialer.sip.dtmf import KEYS
from voiceotp.delivery.dialer.sip.srtp import MODES as SRTP_MODES

__all__ = ["SipTrunk"]


@dataclass(frozen=True)
class SipTrunk:
    """Where and how :class:`~voiceotp.delivery.dialer.sip.SipDialer` places calls.

    Every request goes to ``host:port`` (the trunk acts as our outbound proxy). ``domain``
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

    ``srtp`` (SDES, RFC 4568): ``off``; ``offer`` (``a=crypto`` in an RTP/AVP offer: SRTP
    when the answer takes a key, plain RTP otherwise); ``require`` (RTP/SAVP: an answer
    without a usable key is hung up before any media is sent).
    """

    host: str
    port: int = 5060
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
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        object.__setattr__(self, "redirect_networks", tuple(self.redirect_networks))
        for network in self.redirect_networks:
            ipaddress.ip_network(network, strict=False)  # ValueError for a bad CIDR
        low, high = self.rtp_port_min, self.rtp_port_max
        if (low, high) != (0, 0) and not 1024 <= low < low + low % 2 + 1 <= high <= 65535:
            raise ValueError(
                "rtp_port_min..rtp_port_max must satisfy 1024 <= min < max <= 65535 and hold "
                "an even RTP port with its odd RTCP neighbour (or both be 0 for ephemeral ports)"
            )

    @property
    def registrar_address(self) -> tuple[str, int]:
        """Where REGISTERs go (a name: resolved when the dialer starts)."""
        if not self.registrar:
            return self.host, self.port
        host, _, port = self.registrar.rpartition(":")
        if host and port.isdigit():
            return host, int(port)
        return self.registrar, 5060

    @property
    def sip_domain(self) -> str:
        return self.domain or (self.host if self.port == 5060 else f"{self.host}:{self.port}")
