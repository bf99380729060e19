"""Who may send an app's numbers INVITEs: the app's trunks (each trunk's `inbound_addresses`
and the address its `host` resolves to) and the networks the node trusts for every app
(`VOICELANE_MEDIA_SIP_TRUSTED_SOURCES`; loopback on a local node). Anyone else gets 403: an
open SIP port is found by scanners within minutes, and an unchecked INVITE to an agent number
costs model and carrier minutes (toll fraud)."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable

from voicelane.domain.models import Trunk

from voicelane_media.settings import IpNetwork, parse_networks

__all__ = ["IpNetwork", "Resolver", "parse_networks", "source_allowed"]
Resolver = Callable[[str], Awaitable[list[str]]]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None


async def source_allowed(source: str, trusted: Iterable[IpNetwork], trunks: list[Trunk],
                         resolve: Resolver) -> bool:
    """Whether an INVITE from `source` may reach a number of the app owning `trunks`."""
    address = _address(source)
    if address is None:
        return False
    if any(address in net for net in trusted):
        return True
    return await source_trunk(source, trunks, resolve) is not None


async def source_trunk(source: str, trunks: list[Trunk], resolve: Resolver) -> Trunk | None:
    """The first of `trunks` that `source` belongs to (its `inbound_addresses`, then the
    address of its `host`), or None: whose settings (codecs) an inbound call follows."""
    address = _address(source)
    if address is None:
        return None
    for trunk in trunks:  # validated networks (the API normalizes them)
        if any(address in ipaddress.ip_network(net, strict=False)
               for net in trunk.inbound_addresses):
            return trunk
    for trunk in trunks:  # only now the DNS lookups, for carriers named by host name
        host = _address(trunk.host)
        hosts = [host] if host is not None else [_address(a) for a in await resolve(trunk.host)]
        if address in hosts:
            return trunk
    return None
