"""Which address a request came from, believing ``X-Forwarded-For`` only from our proxies.

Anyone can send ``X-Forwarded-For``. Read from every peer, it would let one client
pose as a new address on each request and so escape every per-address limit. Only a
peer in ``trusted_proxies`` (a setting; none by default) is believed: its header is read
from the right, past our own proxies, to the first address that is not one of them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 192.168.0.0/16"`` as networks; a bare address is a network of one."""
    networks = []
    for part in spec.split(","):
        part = part.strip()
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"trusted_proxies: {part!r} is no IP address or network") from exc
    return tuple(networks)


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> TrustedProxies:
        return cls(parse_networks(spec))

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client's address: ``peer``, unless it is one of our proxies, in which case
        the nearest address in the ``X-Forwarded-For`` values that is not."""
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        hops = [hop for hop in hops if hop]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        # Only our proxies on the way: the request started at the first of them.
        return hops[0] if hops else peer

    def of(self, connection: HTTPConnection) -> str:
        peer = connection.client.host if connection.client else "unknown"
        return self.client(peer, connection.headers.getlist("x-forwarded-for"))


class ProxyOptions(TypedDict):
    proxy_headers: bool
    forwarded_allow_ips: str


def uvicorn_proxy_options(trusted_proxies: str) -> ProxyOptions:
    """uvicorn's own ``X-Forwarded-For`` handling, held to the same proxies: by default it
    believes the header from 127.0.0.1, which would let any local client pose as others."""
    proxies = ",".join(str(network) for network in parse_networks(trusted_proxies))
    return ProxyOptions(proxy_headers=bool(proxies), forwarded_allow_ips=proxies)
