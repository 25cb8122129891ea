"""The address a request really came from, for the login throttle and the audit trail.

Behind a reverse proxy every request arrives from the proxy's address, so a
throttle keyed on the socket would lump all officers together. The proxy
appends the address it saw to `X-Forwarded-For`; that header is believed only
when the socket peer is one of `review.trusted_proxies` (anyone else could
write any address there), and is read from the right: the first address not
itself a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    """`entries` (addresses or CIDR blocks) as networks.

    Raises:
        ValueError: an entry that is neither, named.
    """
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"review.trusted_proxies: {entry!r} is not an IP address or CIDR block"
            ) from None
    return tuple(networks)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request, trusted_proxies: Sequence[Network]) -> str:
    """The client's address: the socket peer, or, when that is a trusted proxy,
    the nearest untrusted hop of `X-Forwarded-For`."""
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
    ]
    address = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage the client wrote: stop at the last hop a proxy vouched for
        address = hop
        if not _trusted(hop, trusted_proxies):
            break
    return address
