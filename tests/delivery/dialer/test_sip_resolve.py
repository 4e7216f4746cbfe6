"""RFC 3263 resolution of a trunk's name against a local DNS server (dnsserver.py)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from dns.asyncresolver import Resolver

from tests.delivery.dialer.dnsserver import DnsServer, Records, start_dns
from voiceotp.delivery.dialer.sip.config import SipTrunk
from voiceotp.delivery.dialer.sip.resolve import (
    Srv,
    Target,
    TrunkTargets,
    order_srv,
    pick_naptr,
    resolve_host,
    resolve_targets,
)
from voiceotp.delivery.dialer.sip.transport import resolve_ipv4

Dns = Callable[[Records], Awaitable[tuple[DnsServer, Resolver]]]


@pytest.fixture
async def dns_server() -> AsyncIterator[Dns]:
    servers: list[DnsServer] = []

    async def start(records: Records) -> tuple[DnsServer, Resolver]:
        server, resolver = await start_dns(records)
        servers.append(server)
        return server, resolver

    yield start
    for server in servers:
        server.close()


def naptr(order: int, service: str, replacement: str, preference: int = 10) -> str:
    return f'{order} {preference} "s" "{service}" "" {replacement}.'


async def test_an_address_asks_no_dns_and_takes_the_transports_default_port(
    dns_server: Dns,
) -> None:
    server, resolver = await dns_server({})
    udp = await resolve_host("192.0.2.7", 0, "", resolver=resolver)
    tls = await resolve_host("192.0.2.7", 0, "tls", resolver=resolver)
    fixed = await resolve_host("192.0.2.7", 5080, "tcp", resolver=resolver)
    assert (udp, tls, fixed) == (
        [Target("udp", "192.0.2.7", 5060)],
        [Target("tls", "192.0.2.7", 5061)],
        [Target("tcp", "192.0.2.7", 5080)],
    )
    assert server.queries == []


async def test_an_explicit_port_skips_naptr_and_srv(dns_server: Dns) -> None:
    server, resolver = await dns_server(
        {
            ("trunk.test", "NAPTR"): [naptr(10, "SIP+D2T", "_sip._tcp.trunk.test")],
            ("trunk.test", "A"): ["192.0.2.1", "192.0.2.2"],
        }
    )
    trunk = SipTrunk(host="trunk.test", port=5070)
    targets = await resolve_targets(trunk, resolver=resolver)
    # every address of the name (DNS hands out an RRset in no particular order)
    assert sorted(targets, key=str) == [
        Target("udp", "192.0.2.1", 5070),
        Target("udp", "192.0.2.2", 5070),
    ]
    assert server.queries == [("trunk.test.", "A")]


async def test_naptr_picks_the_transport_and_srv_orders_the_targets(dns_server: Dns) -> None:
    server, resolver = await dns_server(
        {
            ("trunk.test", "NAPTR"): [
                naptr(5, "SIP+D2S", "_sip._sctp.trunk.test"),  # SCTP: not ours, skipped
                naptr(20, "SIP+D2U", "_sip._udp.trunk.test"),
                naptr(10, "SIPS+D2T", "_sips._tcp.trunk.test"),
            ],
            ("_sips._tcp.trunk.test", "SRV"): [
                "20 0 5061 backup.trunk.test.",
                "10 0 5062 main.trunk.test.",
            ],
            ("main.trunk.test", "A"): ["192.0.2.10"],
            ("backup.trunk.test", "A"): ["192.0.2.20", "192.0.2.21"],
        }
    )
    targets = await resolve_targets(SipTrunk(host="trunk.test"), resolver=resolver)
    assert targets[0] == Target("tls", "192.0.2.10", 5062)  # priority 10 before 20
    assert set(targets[1:]) == {
        Target("tls", "192.0.2.20", 5061),
        Target("tls", "192.0.2.21", 5061),
    }
    assert server.asked("SRV") == ["_sips._tcp.trunk.test."]


async def test_a_fixed_transport_asks_only_its_srv_name(dns_server: Dns) -> None:
    server, resolver = await dns_server(
        {
            ("trunk.test", "NAPTR"): [naptr(10, "SIPS+D2T", "_sips._tcp.trunk.test")],
            ("_sip._tcp.trunk.test", "SRV"): ["10 0 5080 node.trunk.test."],
            ("node.trunk.test", "A"): ["192.0.2.30"],
        }
    )
    trunk = SipTrunk(host="trunk.test", transport="tcp")
    targets = await resolve_targets(trunk, resolver=resolver)
    assert targets == [Target("tcp", "192.0.2.30", 5080)]
    assert server.asked("NAPTR") == []
    assert server.asked("SRV") == ["_sip._tcp.trunk.test."]


async def test_without_naptr_the_srv_names_are_tried_tls_tcp_udp(dns_server: Dns) -> None:
    server, resolver = await dns_server(
        {
            ("_sips._tcp.trunk.test", "SRV"): ["0 0 0 ."],  # "not offered here" (RFC 2782)
            ("_sip._udp.trunk.test", "SRV"): ["10 0 5090 node.trunk.test."],
            ("node.trunk.test", "A"): ["192.0.2.40"],
        }
    )
    targets = await resolve_targets(SipTrunk(host="trunk.test"), resolver=resolver)
    assert targets == [Target("udp", "192.0.2.40", 5090)]
    assert server.asked("SRV") == [
        "_sips._tcp.trunk.test.",
        "_sip._tcp.trunk.test.",
        "_sip._udp.trunk.test.",
    ]


async def test_no_naptr_no_srv_means_the_a_records_on_5060_over_udp(dns_server: Dns) -> None:
    _, resolver = await dns_server({("trunk.test", "A"): ["192.0.2.50"]})
    targets = await resolve_targets(SipTrunk(host="trunk.test"), resolver=resolver)
    assert targets == [Target("udp", "192.0.2.50", 5060)]


async def test_a_name_nobody_knows_is_an_os_error(dns_server: Dns) -> None:
    _, resolver = await dns_server({})
    with pytest.raises(OSError, match=r"nowhere\.invalid"):
        await resolve_targets(SipTrunk(host="nowhere.invalid"), resolver=resolver)


async def test_the_getaddrinfo_fallback_is_bounded_by_the_resolvers_lifetime(
    dns_server: Dns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name DNS has no A record for falls back to the system lookup; one that never
    returns (a hung libc resolver) ends as an OSError after the resolver's lifetime. A
    defect awaited it unbounded, holding the dialer's start (and every call) with it."""
    _, resolver = await dns_server({})
    resolver.lifetime = 0.2
    asked: list[str] = []

    async def never(host: str, *args: object, **kwargs: object) -> list[object]:
        asked.append(host)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", never)
    async with asyncio.timeout(30):  # a guard against the defect, not a timed assertion
        with pytest.raises(OSError, match=r"hung\.test.*no answer"):
            await resolve_host("hung.test", 5060, "udp", resolver=resolver)
    assert asked == ["hung.test"]


async def test_a_redirect_contacts_lookup_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 3xx Contact's host name is looked up with getaddrinfo during the call; one that
    never returns ends as an OSError (the call moves on) instead of holding the call."""

    async def never(*args: object, **kwargs: object) -> list[object]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", never)
    async with asyncio.timeout(30):  # a guard against the defect, not a timed assertion
        with pytest.raises(OSError, match=r"hung\.test.*no answer"):
            await resolve_ipv4("hung.test", 5060)  # LOOKUP_TIMEOUT_S: 3 s


def test_pick_naptr_takes_order_then_preference_and_only_our_services() -> None:
    records = [
        (10, 20, "s", "SIP+D2U", "_sip._udp.a."),
        (10, 10, "s", "SIP+D2T", "_sip._tcp.a."),
        (5, 10, "", "SIP+D2T", "rewrite.a."),  # not a terminal "s" record
        (1, 10, "s", "E2U+sip", "enum.a."),
    ]
    assert pick_naptr(records, "") == ("tcp", "_sip._tcp.a.")
    assert pick_naptr(records, "udp") == ("udp", "_sip._udp.a.")
    assert pick_naptr(records, "tls") == ("", "")


def test_srv_order_is_by_priority_then_weighted_draw() -> None:
    records = [
        Srv(20, 0, 1, "late."),
        Srv(10, 90, 1, "heavy."),
        Srv(10, 10, 1, "light."),
    ]
    rng = random.Random(3263)
    firsts = [order_srv(records, rng)[0].target for _ in range(2000)]
    orders = {tuple(r.target for r in order_srv(records, rng)) for _ in range(200)}
    # priority 20 always last; within priority 10, "heavy" first about 90 % of the time
    assert orders == {("heavy.", "light.", "late."), ("light.", "heavy.", "late.")}
    assert 1700 < firsts.count("heavy.") < 1900


async def test_trunk_targets_are_refreshed_in_the_background_and_kept_on_failure(
    dns_server: Dns,
) -> None:
    server, resolver = await dns_server({("trunk.test", "A"): ["192.0.2.60"]})
    targets = TrunkTargets(SipTrunk(host="trunk.test"), resolver, refresh_s=0.0)
    assert await targets.resolve() == (Target("udp", "192.0.2.60", 5060),)

    server.records[("trunk.test.", "A")] = ["192.0.2.61"]  # the carrier moved its node
    assert targets.current() == (Target("udp", "192.0.2.60", 5060),)  # no wait for DNS
    await targets.wait_refreshed()
    assert targets.current() == (Target("udp", "192.0.2.61", 5060),)

    server.records.clear()  # NXDOMAIN now: the last good answer stays
    await targets.wait_refreshed()
    targets.current()
    await targets.wait_refreshed()
    assert targets.targets == (Target("udp", "192.0.2.61", 5060),)
    targets.close()


async def test_each_call_draws_the_srv_weights_anew(dns_server: Dns) -> None:
    _, resolver = await dns_server(
        {
            ("_sip._udp.trunk.test", "SRV"): [
                "10 1 5060 light.trunk.test.",
                "10 3 5060 heavy.trunk.test.",
                "20 0 5060 spare.trunk.test.",
            ],
            ("light.trunk.test", "A"): ["192.0.2.71"],
            ("heavy.trunk.test", "A"): ["192.0.2.72", "192.0.2.73"],
            ("spare.trunk.test", "A"): ["192.0.2.74"],
        }
    )
    trunk = SipTrunk(host="trunk.test", transport="udp")
    targets = TrunkTargets(trunk, resolver, rng=random.Random(2782))
    await targets.resolve()
    orders = [targets.current() for _ in range(1000)]
    firsts = [order[0].host for order in orders]
    # about 3 calls in 4 start on the heavy node (either of its addresses), 1 in 4 on the
    # light one; the spare (priority 20) is always last, each node's addresses together
    assert 680 < sum(host in ("192.0.2.72", "192.0.2.73") for host in firsts) < 820
    for order in orders:
        hosts = [t.host for t in order]
        assert hosts[-1] == "192.0.2.74"
        heavy = [i for i, h in enumerate(hosts) if h in ("192.0.2.72", "192.0.2.73")]
        assert heavy[1] - heavy[0] == 1


async def test_a_trunk_that_asks_for_tls_is_never_downgraded_by_dns(
    dns_server: Dns, tmp_path: Path
) -> None:
    """``uri_scheme = "sips"`` or a TLS setting with ``transport = ""``: DNS (unsigned,
    spoofable) may choose the TLS node, never UDP or TCP in the clear; a defect took a
    NAPTR's SIP+D2U and sent the sips trunk's calls unencrypted and unverified."""
    _, resolver = await dns_server(
        {
            ("trunk.test", "NAPTR"): [
                naptr(10, "SIP+D2U", "_sip._udp.trunk.test"),
                naptr(20, "SIPS+D2T", "_sips._tcp.trunk.test"),
            ],
            ("_sip._udp.trunk.test", "SRV"): ["10 0 5060 elsewhere.test."],
            ("_sips._tcp.trunk.test", "SRV"): ["10 0 5061 tls.trunk.test."],
            ("elsewhere.test", "A"): ["198.51.100.66"],
            ("tls.trunk.test", "A"): ["192.0.2.10"],
        }
    )
    ca = tmp_path / "ca.pem"
    ca.write_text("not read when resolving")
    for trunk in (
        SipTrunk(host="trunk.test", uri_scheme="sips"),
        SipTrunk(host="trunk.test", tls_ca_file=str(ca)),
    ):
        targets = await resolve_targets(trunk, resolver=resolver)
        assert targets == [Target("tls", "192.0.2.10", 5061)]
    by_address = await resolve_targets(SipTrunk(host="192.0.2.7", uri_scheme="sips"))
    assert by_address == [Target("tls", "192.0.2.7", 5061)]  # was udp:5060


async def test_a_huge_srv_answer_costs_at_most_max_targets_lookups(dns_server: Dns) -> None:
    """40 SRV records: the first 16 targets are looked up, not all 40 one after another
    (each lookup may wait the resolver's lifetime: a defect let a zone hold the dialer's
    start for minutes before cutting the list)."""
    from voiceotp.delivery.dialer.sip.resolve import MAX_TARGETS

    records: Records = {("_sip._udp.trunk.test", "SRV"): []}
    for index in range(40):
        records[("_sip._udp.trunk.test", "SRV")].append(f"{index} 0 5060 n{index}.trunk.test.")
        records[(f"n{index}.trunk.test", "A")] = [f"192.0.2.{index + 1}"]
    server, resolver = await dns_server(records)
    trunk = SipTrunk(host="trunk.test", transport="udp")
    targets = await resolve_targets(trunk, resolver=resolver)
    assert targets == [Target("udp", f"192.0.2.{i + 1}", 5060) for i in range(MAX_TARGETS)]
    assert len(server.asked("A")) == MAX_TARGETS


async def test_a_huge_srv_answer_of_dead_names_costs_at_most_max_targets_lookups(
    dns_server: Dns,
) -> None:
    """40 SRV records whose names do not resolve: 16 are tried, then the trunk has no
    target (a defect tried all 40, each up to the resolver's lifetime)."""
    from voiceotp.delivery.dialer.sip.resolve import MAX_TARGETS

    names = [f"{index} 0 5060 dead{index}.trunk.test." for index in range(40)]
    server, resolver = await dns_server({("_sip._udp.trunk.test", "SRV"): names})
    with pytest.raises(OSError, match="no SRV target resolves"):
        await resolve_targets(SipTrunk(host="trunk.test", transport="udp"), resolver=resolver)
    assert len(server.asked("A")) == MAX_TARGETS
