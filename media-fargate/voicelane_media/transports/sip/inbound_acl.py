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

__all__ = ["IpNetwork", "Resolver", "inbound_srtp_policy", "parse_networks", "source_allowed",
           "source_trunk", "trunks_of_source"]
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
    return bool(await trunks_of_source(source, trunks, resolve, first=True))


async def trunks_of_source(source: str, trunks: list[Trunk], resolve: Resolver, *,
                           first: bool = False) -> list[Trunk]:
    """The trunks `source` belongs to: its address is in a trunk's `inbound_addresses`, or
    is the address of its `host` (DNS asked only when no network matched). With `first`,
    stop at the first match."""
    address = _address(source)
    if address is None:
        return []
    found = [t for t in trunks  # validated networks (the API normalizes them)
             if any(address in ipaddress.ip_network(net, strict=False)
                    for net in t.inbound_addresses)]
    if found and first:
        return found[:1]
    for trunk in trunks:  # only now the DNS lookups, for carriers named by host name
        if trunk in found:
            continue
        host = _address(trunk.host)
        hosts = [host] if host is not None else [_address(a) for a in await resolve(trunk.host)]
        if address in hosts:
            found.append(trunk)
            if first:
                break
    return found


SRTP_STRICTNESS = {"off": 0, "optional": 1, "mandatory": 2}


def inbound_srtp_policy(matched: list[Trunk]) -> str:
    """The SRTP policy of an inbound call: the strictest of the trunks its source address
    belongs to (so a source shared by a mandatory trunk never gets plain RTP). A caller that
    matches no trunk (a trusted network) gets `optional`: SRTP when it offers it."""
    if not matched:
        return "optional"
    return max((t.srtp for t in matched), key=SRTP_STRICTNESS.__getitem__)


async def source_trunk(source: str, trunks: list[Trunk], resolve: Resolver) -> Trunk | None:
    """The first of `trunks` that `source` belongs to, or None: whose settings (codecs) an
    inbound call follows."""
    found = await trunks_of_source(source, trunks, resolve, first=True)
    return found[0] if found else None
