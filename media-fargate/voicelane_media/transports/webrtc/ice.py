"""ICE configuration of the node's peer connections.

- ICE servers: the control plane's ``webrtc_ice_servers`` (the same list the browser gets),
  as aiortc's ``RTCIceServer``. An empty list means no STUN at all: aiortc would otherwise
  fall back to a public Google STUN server, which a node must never call unasked.
- Host candidates: aioice gathers on every interface except 127.0.0.1 and offers no option
  to choose. ``restrict_host_addresses`` replaces its address lookup, process-wide, with the
  node's ``webrtc_host_addresses`` (``127.0.0.1`` on a local node, so loopback calls never
  touch another interface; in AWS, unset: the task's ENI address, plus STUN's reflexive one).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer
from voicelane.domain.webrtc import IceServer

_ORIGINAL = aioice.ice.get_host_addresses


def rtc_configuration(servers: Sequence[IceServer]) -> RTCConfiguration:
    """aiortc's configuration for ``servers`` (an explicit empty list when there are none)."""
    return RTCConfiguration(iceServers=[
        RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in servers])


def restrict_host_addresses(addresses: Sequence[str]) -> None:
    """Gather host candidates on ``addresses`` only (all interfaces again when empty)."""
    if not addresses:
        aioice.ice.get_host_addresses = _ORIGINAL
        return
    parsed = [ipaddress.ip_address(a) for a in addresses]  # ValueError names a bad one

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [str(a) for a in parsed
                if (a.version == 4 and use_ipv4) or (a.version == 6 and use_ipv6)]

    aioice.ice.get_host_addresses = host_addresses
