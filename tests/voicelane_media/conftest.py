"""A real RTP port pool on loopback for each media-session test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from voicelane_media.transports.sip.rtp import RtpPortPool

from tests.voicelane_media.helpers import RawPeer, raw_peer


@pytest.fixture
async def pool() -> AsyncIterator[RtpPortPool]:
    # ports that are taken (another test, another process) are skipped by the pool
    rtp_pool = RtpPortPool("127.0.0.1", 42000, 42999, rtcp_interval=0.2)
    yield rtp_pool
    await rtp_pool.close()


@pytest.fixture
async def udp_peer() -> AsyncIterator[Callable[[], Awaitable[RawPeer]]]:
    """Factory of raw UDP peers on loopback, closed after the test."""
    peers: list[RawPeer] = []

    async def make() -> RawPeer:
        peer = await raw_peer()
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        if peer.transport is not None:
            peer.transport.close()
