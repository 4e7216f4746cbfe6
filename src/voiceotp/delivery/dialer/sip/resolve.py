"""Where a trunk's requests go: RFC 3263 §4 (NAPTR → SRV → A) for a host name.

- A numeric IP, or a name with an explicit port: no NAPTR/SRV; the address(es) of the
  name at that port (5060, 5061 for TLS, when none is given).
- Otherwise, without a fixed transport, NAPTR picks it: the records of the services we
  support (``SIPS+D2T``, ``SIP+D2T``, ``SIP+D2U``) in order/preference, the first one's
  replacement is the SRV name. No NAPTR: SRV of ``_sips._tcp``, ``_sip._tcp``,
  ``_sip._udp`` in that order, the first that exists. No SRV either: the name's A
  records on the default port, over UDP.
- With a fixed transport, only that transport's SRV name is queried. A trunk with
  ``sips`` URIs or TLS settings has TLS fixed (DNS must not downgrade it).
- SRV records are ordered by priority, and within one priority by a weighted random
  draw (RFC 2782) made again for each call, each target's A records in turn.

The result is the list of :class:`Target` s tried in order (failover on transport
errors: ``call.py``). IPv4 only: our sockets are IPv4 (AAAA is not asked).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voiceotp.delivery.dialer.sip.config import DEFAULT_PORTS, SipTrunk
from voiceotp.delivery.dialer.sip.tls import required_transport
from voiceotp.delivery.dialer.sip.transport import LOOKUP_TIMEOUT_S
from voiceotp.delivery.dialer.sip.trunks import weighted_order

if TYPE_CHECKING:  # dnspython comes with the sip extra; imported when a name is resolved
    import dns.asyncresolver

__all__ = [
    "REFRESH_S",
    "Srv",
    "Target",
    "TrunkTargets",
    "draw_targets",
    "order_srv",
    "pick_naptr",
    "resolve_host",
    "resolve_targets",
]

log = logging.getLogger(__name__)
MAX_TARGETS = 16  # enough for any SBC cluster; a bound on how long failover can take
REFRESH_S = 300.0  # how often a trunk's name is resolved again while the dialer runs
_NAPTR_SERVICES = {"SIPS+D2T": "tls", "SIP+D2T": "tcp", "SIP+D2U": "udp"}
_SRV_PREFIX = {"tls": "_sips._tcp", "tcp": "_sip._tcp", "udp": "_sip._udp"}
_PREFERENCE = ("tls", "tcp", "udp")  # without NAPTR: the SRV names tried, in this order


@dataclass(frozen=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True)
class Target:
    """One address to send the trunk's requests to."""

    transport: str  # udp | tcp | tls
    host: str  # an IPv4 address
    port: int
    srv: Srv | None = field(default=None, compare=False)  # the SRV record it came from

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.transport}"


def pick_naptr(records: Sequence[tuple[int, int, str, str, str]], wanted: str) -> tuple[str, str]:
    """From NAPTR records (order, preference, flags, service, replacement) the first of a
    service we support (and of transport ``wanted`` unless empty): (transport, SRV name),
    or ``("", "")``."""
    for _order, _pref, flags, service, replacement in sorted(records, key=lambda r: r[:2]):
        transport = _NAPTR_SERVICES.get(service.upper(), "")
        if transport and flags.lower() == "s" and wanted in ("", transport):
            return transport, replacement
    return "", ""


def order_srv(records: Sequence[Srv], rng: random.Random) -> list[Srv]:
    """RFC 2782: ascending priority; within one, the weighted draw of trunk ranking
    (:func:`~voiceotp.delivery.dialer.sip.trunks.weighted_order`: exact shares, weight 0
    last)."""
    ordered: list[Srv] = []
    for priority in sorted({r.priority for r in records}):
        group = [r for r in records if r.priority == priority]
        ordered += weighted_order(group, [r.weight for r in group], rng)
    return ordered


def draw_targets(targets: tuple[Target, ...], rng: random.Random) -> tuple[Target, ...]:
    """``targets`` in a new RFC 2782 order of their SRV records (each call draws again, so
    the weights share the calls out); each record's addresses stay together, in order."""
    records = list(dict.fromkeys(t.srv for t in targets if t.srv is not None))
    if len(records) < 2:
        return targets
    return tuple(t for record in order_srv(records, rng) for t in targets if t.srv == record)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def resolve_targets(
    trunk: SipTrunk,
    *,
    resolver: dns.asyncresolver.Resolver | None = None,
    rng: random.Random | None = None,
) -> list[Target]:
    """The trunk's targets in the order to try them; :class:`OSError` if there are none."""
    transport = required_transport(trunk)  # sips or TLS settings: never "" (DNS's choice)
    return await resolve_host(trunk.host, trunk.port, transport, resolver=resolver, rng=rng)


class TrunkTargets:
    """A trunk's targets, resolved when the dialer starts and again in the background
    every ``refresh_s`` (calls meanwhile use the last good answer; a failed lookup, or one
    that changes the transport, keeps it)."""

    def __init__(
        self,
        trunk: SipTrunk,
        resolver: dns.asyncresolver.Resolver | None = None,
        refresh_s: float = REFRESH_S,
        rng: random.Random | None = None,
    ) -> None:
        self.trunk = trunk
        self.resolver = resolver
        self.refresh_s = refresh_s
        self.rng = rng or random.Random()
        self.targets: tuple[Target, ...] = ()
        self._resolved_at = 0.0
        self._refresh: asyncio.Task[None] | None = None

    async def resolve(self) -> tuple[Target, ...]:
        """Resolve now; :class:`OSError` when the name gives no target."""
        targets = tuple(await resolve_targets(self.trunk, resolver=self.resolver))
        if not targets:
            raise OSError(f"SIP trunk {self.trunk.host!r} resolves to no address")
        self.targets, self._resolved_at = targets, asyncio.get_running_loop().time()
        return targets

    def current(self) -> tuple[Target, ...]:
        """The targets to use now, SRV weights drawn anew; starts a refresh when due."""
        loop = asyncio.get_running_loop()
        due = loop.time() >= self._resolved_at + self.refresh_s
        if due and not _is_ip(self.trunk.host) and self._refresh is None:
            self._refresh = loop.create_task(self._refreshed(), name="sip-resolve")
        return draw_targets(self.targets, self.rng)

    def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()

    async def wait_refreshed(self) -> None:
        """Wait for a refresh under way (tests, shutdown)."""
        if self._refresh is not None:
            await asyncio.shield(self._refresh)

    async def _refreshed(self) -> None:
        old = self.targets
        try:
            targets = await self.resolve()
        except OSError as exc:
            log.warning(
                "SIP trunk %s: lookup failed (%s); keeping its targets", self.trunk.host, exc
            )
            self.targets, self._resolved_at = old, asyncio.get_running_loop().time()
        else:
            if old and targets[0].transport != old[0].transport:  # one transport per dialer
                log.warning(
                    "SIP trunk %s: DNS now says %s; restart to switch",
                    self.trunk.host,
                    targets[0].transport,
                )
                self.targets = old
        finally:
            self._refresh = None


async def resolve_host(
    host: str,
    port: int,
    transport: str,
    *,
    resolver: dns.asyncresolver.Resolver | None = None,
    rng: random.Random | None = None,
) -> list[Target]:
    """RFC 3263 for ``host`` (``port`` 0: not given; ``transport`` "": not fixed)."""
    if _is_ip(host) or port:
        kind = transport or "udp"
        addresses = [host] if _is_ip(host) else await _addresses(host, resolver)
        return [Target(kind, a, port or DEFAULT_PORTS[kind]) for a in addresses]
    resolver = resolver or _system_resolver()
    srv_names = await _srv_names(host, transport, resolver)
    for kind, name in srv_names:
        records = await _srv(name, resolver)
        if records:
            targets = await _srv_targets(kind, records, resolver, rng or random.Random())
            if not targets:
                raise OSError(f"cannot resolve SIP trunk {host!r}: no SRV target resolves")
            return targets[:MAX_TARGETS]
    kind = transport or "udp"
    return [Target(kind, a, DEFAULT_PORTS[kind]) for a in await _addresses(host, resolver)]


async def _srv_names(
    host: str, transport: str, resolver: dns.asyncresolver.Resolver | None
) -> list[tuple[str, str]]:
    """(transport, SRV name) to query in order: NAPTR's choice, else the usual names."""
    if not transport:
        naptr = await _query(resolver, host, "NAPTR")
        records = [
            (r.order, r.preference, r.flags.decode(), r.service.decode(), str(r.replacement))
            for r in naptr
        ]
        kind, name = pick_naptr(records, transport)
        if kind:
            return [(kind, name)]
    kinds = [transport] if transport else list(_PREFERENCE)
    return [(kind, f"{_SRV_PREFIX[kind]}.{host}") for kind in kinds]


async def _srv(name: str, resolver: dns.asyncresolver.Resolver | None) -> list[Srv]:
    answer = await _query(resolver, name, "SRV")
    records = [Srv(r.priority, r.weight, r.port, str(r.target)) for r in answer]
    # a single target "." says: this service is not offered here (RFC 2782)
    return [r for r in records if r.target != "."]


async def _srv_targets(
    kind: str,
    records: list[Srv],
    resolver: dns.asyncresolver.Resolver | None,
    rng: random.Random,
) -> list[Target]:
    targets: dict[Target, None] = {}  # the same address twice is tried once
    for record in order_srv(records, rng)[:MAX_TARGETS]:  # a huge answer: bounded lookups
        if len(targets) >= MAX_TARGETS:
            break
        try:
            addresses = await _addresses(record.target, resolver)
        except OSError as exc:
            log.warning("SRV target %s skipped: %s", record.target, exc)
            continue
        targets.update(dict.fromkeys(Target(kind, a, record.port, record) for a in addresses))
    return list(targets)


async def _addresses(host: str, resolver: dns.asyncresolver.Resolver | None) -> list[str]:
    """IPv4 addresses of ``host``: DNS A records, else getaddrinfo (/etc/hosts and all)."""
    resolver = resolver or _system_resolver()
    answer = await _query(resolver, host, "A")
    if answer:
        return [str(r.address) for r in answer]
    loop = asyncio.get_running_loop()
    bound = resolver.lifetime if resolver is not None else LOOKUP_TIMEOUT_S
    lookup = loop.getaddrinfo(host.rstrip("."), None, family=socket.AF_INET)
    try:  # bounded: libc may wait its own timeouts times attempts times servers
        infos = await asyncio.wait_for(lookup, bound)
    except TimeoutError:
        raise OSError(f"cannot resolve SIP peer {host!r}: no answer in {bound:g} s") from None
    except OSError as exc:
        raise OSError(f"cannot resolve SIP peer {host!r}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _query(resolver: dns.asyncresolver.Resolver | None, name: str, kind: str) -> list[Any]:
    """The records of one query; empty when the name or the records do not exist or the
    DNS does not answer (the next step of RFC 3263 applies then)."""
    if resolver is None:
        return []
    import dns.exception

    try:
        answer = await resolver.resolve(name, kind, search=False)
    except dns.exception.DNSException as exc:
        log.debug("DNS %s %s: %s", kind, name, exc)
        return []
    return list(answer)


_SYSTEM: list[dns.asyncresolver.Resolver | None] = []


def _system_resolver() -> dns.asyncresolver.Resolver | None:
    """A resolver on /etc/resolv.conf's servers (made once), or ``None`` without one."""
    if not _SYSTEM:
        try:
            import dns.asyncresolver
            import dns.exception
        except ImportError:
            log.warning(
                "dnspython is missing (pip install 'voiceotp[sip]'): SIP trunk names are "
                "resolved by getaddrinfo alone, without NAPTR/SRV"
            )
            _SYSTEM.append(None)
            return None
        try:
            resolver = dns.asyncresolver.Resolver()
            resolver.lifetime = LOOKUP_TIMEOUT_S  # a dead DNS must not hold calls for long
        except (dns.exception.DNSException, OSError):
            resolver = None
        _SYSTEM.append(resolver)
    return _SYSTEM[0]
