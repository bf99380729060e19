"""DNS for tests: names resolve to fixed addresses without a network."""

from __future__ import annotations

import ipaddress

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FakeResolver:
    """Every name resolves to `names[host]`, else `default` (a public address)."""

    def __init__(self, names: dict[str, str] | None = None, default: str = "93.184.215.14") -> None:
        self.names = names or {}
        self.default = default
        self.asked: list[str] = []

    def resolve(self, host: str, port: int) -> list[IpAddress]:
        self.asked.append(host)
        return [ipaddress.ip_address(self.names.get(host, self.default))]
