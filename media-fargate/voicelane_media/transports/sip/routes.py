"""Where an outbound SIP call (or a bridged transfer) goes: the app's trunks in priority
order, or the node's fallback peer in development."""

from __future__ import annotations

from dataclasses import dataclass

from voicelane.domain.models import Trunk

from .uac import Credentials


@dataclass(frozen=True)
class Route:
    """One way out: a trunk (or the node's fallback peer in development)."""

    name: str
    host: str
    port: int
    transport: str  # UDP | TCP | TLS
    credentials: Credentials | None = None
    codecs: tuple[str, ...] | None = None  # the trunk's codec preference (None: the node's)
    srtp: str = "off"  # off | optional | mandatory (the trunk's SDES-SRTP policy)


def parse_fallback(value: str) -> Route | None:
    """``host:port[;transport=tcp|tls]`` from settings, for apps without trunks (development)."""
    if not value:
        return None
    hostport, _, params = value.partition(";")
    host, _, port = hostport.rpartition(":")
    lowered = params.lower()
    transport = "TLS" if "transport=tls" in lowered else \
        "TCP" if "transport=tcp" in lowered else "UDP"
    default_port = 5061 if transport == "TLS" else 5060
    return Route("fallback", host or hostport, int(port) if port.isdigit() else default_port,
                 transport)


def routes_for(trunks: list[Trunk], fallback_trunk: str) -> list[Route]:
    """The app's trunks as routes; the fallback peer when it has none."""
    routes = [Route(t.name, t.host, t.port, t.transport.upper(),
                    Credentials(t.username, t.password or "") if t.username else None,
                    tuple(t.codecs) if t.codecs else None, t.srtp)
              for t in trunks]
    if not routes:
        fallback = parse_fallback(fallback_trunk)
        if fallback is not None:
            routes.append(fallback)
    return routes
