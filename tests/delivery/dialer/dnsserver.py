"""A tiny DNS server for tests: answers from a dict on a loopback UDP port (dnspython
parses the queries and builds the answers), and remembers what it was asked."""

from __future__ import annotations

import asyncio
from typing import cast

import dns.asyncresolver
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

Records = dict[tuple[str, str], list[str]]  # (name, type) -> rdata in zone-file text


class DnsServer(asyncio.DatagramProtocol):
    def __init__(self, records: Records, ttl: int = 60) -> None:
        self.records = {
            (_fqdn(name), kind.upper()): values for (name, kind), values in records.items()
        }
        self.ttl = ttl
        self.queries: list[tuple[str, str]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, kind))
        values = self.records.get((name, kind))
        if values:
            rrset = dns.rrset.from_text_list(question.name, self.ttl, "IN", kind, values)
            response.answer.append(rrset)
        elif not any(known == name for known, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        response.flags |= dns.flags.AA
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)

    def asked(self, kind: str) -> list[str]:
        """The names queried for records of ``kind``."""
        return [name for name, k in self.queries if k == kind]

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _fqdn(name: str) -> str:
    return name.lower().rstrip(".") + "."


async def start_dns(records: Records) -> tuple[DnsServer, dns.asyncresolver.Resolver]:
    """The server and a resolver that asks it (and nothing else)."""
    loop = asyncio.get_running_loop()
    _, server = await loop.create_datagram_endpoint(
        lambda: DnsServer(records), local_addr=("127.0.0.1", 0)
    )
    assert server.transport is not None
    port = server.transport.get_extra_info("sockname")[1]
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    resolver.lifetime = 2.0
    return server, resolver
