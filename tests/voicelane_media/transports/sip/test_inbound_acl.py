"""Which sources may send an app's numbers INVITEs (the pure check; the SIP path is in
tests/interop/test_sipp_inbound_acl.py)."""

from __future__ import annotations

import pytest
from voicelane.domain.models import Trunk
from voicelane_media.transports.sip.inbound_acl import parse_networks, source_allowed


def trunk(host: str, inbound: list[str] | None = None) -> Trunk:
    return Trunk(trunk_id="trunk_1", app_id="app_1", name="carrier", host=host,
                 inbound_addresses=inbound or [], created_at="2026-11-21T00:00:00Z")


class Resolver:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return self.answers.get(host, [])


@pytest.mark.parametrize(("source", "trusted", "trunks", "allowed"), [
    ("127.0.0.1", "127.0.0.0/8,::1", [], True),            # the node trusts it for every app
    ("::1", "127.0.0.0/8,::1", [], True),
    ("203.0.113.7", "127.0.0.0/8", [], False),               # no trunk: nobody else
    ("203.0.113.7", "", [trunk("203.0.113.7")], True),       # the trunk's own address
    ("[2001:db8::5]", "", [trunk("[2001:db8::5]")], True),
    ("198.51.100.20", "", [trunk("203.0.113.7", ["198.51.100.0/24"])], True),
    ("198.51.101.20", "", [trunk("203.0.113.7", ["198.51.100.0/24"])], False),
    ("sip.example.com", "0.0.0.0/0", [], False),             # not an address at all
])
async def test_sources(source: str, trusted: str, trunks: list[Trunk], allowed: bool) -> None:
    assert await source_allowed(source, parse_networks(trusted), trunks, Resolver({})) is allowed


async def test_a_trunk_named_by_host_name_is_resolved_only_when_needed() -> None:
    resolver = Resolver({"sip.carrier.example": ["192.0.2.44", "2001:db8::44"]})
    named = [trunk("sip.carrier.example", ["198.51.100.0/24"])]
    assert await source_allowed("198.51.100.9", (), named, resolver)
    assert resolver.asked == []  # the listed network matched first: no DNS lookup
    assert await source_allowed("2001:db8::44", (), named, resolver)
    assert not await source_allowed("192.0.2.45", (), named, resolver)
    assert resolver.asked == ["sip.carrier.example"] * 2


@pytest.mark.parametrize("text", ["10.0.0.0/33", "not-an-ip", "10.0.0.1,,x"])
def test_a_bad_network_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an IP address or CIDR network"):
        parse_networks(text)
