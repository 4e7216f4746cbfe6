"""Following 3xx redirects within limits, sans I/O (RFC 3261 §8.1.3.4, §21.3).

A 301/302 names new targets in its Contact header; we INVITE them in q-order. Limits:
at most ``max_redirects`` 3xx are followed, a target already tried is never tried again
(a loop ends FAILED instead of ringing for ever), and a target must be an address the
operator allows. The last rule is the important one: a trunk (or whoever spoofs it)
that may send our calls to any host it names can make us place calls through a toll
fraudster's gateway at our expense, so only the trunk's own address (any port: other
nodes of its SBC often listen on other ports) and the networks in
``SipTrunk.redirect_networks`` are allowed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from voiceotp.delivery.dialer.sip.message import SipMessage, header_params, uri_of

__all__ = ["REDIRECTS", "RedirectTarget", "Redirects", "contact_targets"]

#: Finals whose Contacts we follow. 305 Use Proxy (deprecated by RFC 3261 §21.3.5 for
#: security reasons of its own) and 380 Alternative Service are not.
REDIRECTS = (301, 302)


@dataclass(frozen=True)
class RedirectTarget:
    """A URI to INVITE next and the host/port it names (a name is resolved by the caller)."""

    uri: str
    host: str
    port: int
    q: float = 1.0

    @property
    def where(self) -> str:
        """``host:port``: what the call record names (the user part may be a number)."""
        return f"{self.host}:{self.port}"


def _host_port(uri: str, kind: str = "udp") -> tuple[str, int] | None:
    """Host and port of a URI we can reach over the dialer's transport ``kind`` (a
    ``sip:`` URI without ``transport=``, or naming ``kind``; ``sips:`` only over TLS);
    ``None`` for tel:, IPv6 and other transports."""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() not in ("sip", "sips") or (scheme.lower() == "sips" and kind != "tls"):
        return None
    rest, *params = rest.split(";")
    transport = next((p.split("=", 1)[1] for p in params if p.lower().startswith("transport=")), "")
    if transport and transport.lower() != kind:
        return None
    hostport = rest.rsplit("@", 1)[-1].split("?", 1)[0]
    if hostport.startswith("["):  # IPv6: not used by our IPv4 socket
        return None
    host, _, port = hostport.partition(":")
    if not host or (port and not port.isdigit()):
        return None
    return host, int(port or (5061 if kind == "tls" else 5060))


def contact_targets(response: SipMessage, kind: str = "udp") -> list[RedirectTarget]:
    """The Contacts of a 3xx we could reach over ``kind``, highest ``q`` first (ties: as
    listed)."""
    targets = []
    for value in response.get_all("Contact"):
        uri = uri_of(value)
        where = _host_port(uri, kind)
        if where is None:
            continue
        try:
            q = float(header_params(value).get("q", "1"))
        except ValueError:
            q = 0.0
        targets.append(RedirectTarget(uri, where[0], where[1], q))
    return sorted(targets, key=lambda t: -t.q)  # sorted() is stable


@dataclass
class Redirects:
    """What one call has been redirected to so far, and whether it may go further."""

    trunk_host: str  # the trunk's resolved address: redirects there are always allowed
    networks: tuple[str, ...] = ()
    max_redirects: int = 3
    transport: str = "udp"  # the dialer's: Contacts for another transport are skipped
    followed: int = 0
    tried: set[str] = field(default_factory=set)
    pending: list[RedirectTarget] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def start(self, uri: str) -> None:
        """The first INVITE's Request-URI is a target already tried."""
        self.tried.add(_key(uri))

    def allowed(self, address: str) -> bool:
        """Whether a resolved IPv4 address may receive our INVITEs."""
        if address == self.trunk_host:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n, strict=False) for n in self.networks)

    def follow(self, response: SipMessage) -> str | None:
        """Take a 3xx's targets; ``None`` if allowed to go on, else why not."""
        if self.followed >= self.max_redirects:
            return f"too many redirects (limit {self.max_redirects})"
        fresh = [
            t for t in contact_targets(response, self.transport) if _key(t.uri) not in self.tried
        ]
        if not fresh:
            return "redirect loop or no usable Contact"
        self.followed += 1
        self.pending = fresh
        return None

    def next_target(self) -> RedirectTarget | None:
        """The next untried target of the last 3xx, marked as tried."""
        while self.pending:
            target = self.pending.pop(0)
            if _key(target.uri) not in self.tried:
                self.tried.add(_key(target.uri))
                return target
        return None


def _key(uri: str) -> str:
    """What makes two targets the same: user, host (case-folded) and port (5060 implied)."""
    rest = uri.partition(":")[2].split(";", 1)[0].split("?", 1)[0]
    user, _, hostport = rest.rpartition("@")
    host, _, port = hostport.partition(":")
    return f"{user}@{host.lower()}:{port or 5060}"
