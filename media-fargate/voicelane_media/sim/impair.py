"""A UDP relay between the simulated phone and the media node that impairs the phone's audio.

The phone's SDP advertises the relay's port, so the node sends to (and latches on) the relay;
packets from the phone go on to the node after a random delay (jitter, which also reorders)
or not at all (loss). The node's packets come back to the phone untouched.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

Address = tuple[str, int]


@dataclass(frozen=True)
class Impairment:
    """Network trouble on the caller's uplink: `loss_pct` of packets dropped, each delayed by
    a uniform 0..`jitter_ms` (seeded, so a scenario replays the same)."""

    loss_pct: float = 0.0
    jitter_ms: float = 0.0
    seed: int = 7

    @property
    def active(self) -> bool:
        return self.loss_pct > 0 or self.jitter_ms > 0


class _Relay(asyncio.DatagramProtocol):
    def __init__(self, owner: ImpairedRelay) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.owner.received(data, (str(addr[0]), int(addr[1])))


class ImpairedRelay:
    """Bind with `start()`; `port` goes into the phone's SDP; `phone` and `node` are set once
    both sides are known."""

    def __init__(self, impairment: Impairment, host: str = "127.0.0.1") -> None:
        self.impairment = impairment
        self.host = host
        self.phone: Address | None = None
        self.node: Address | None = None
        self.forwarded = 0
        self.dropped = 0
        self._rng = random.Random(impairment.seed)
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> ImpairedRelay:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Relay(self), local_addr=(self.host, 0))
        self._transport = transport
        return self

    @property
    def port(self) -> int:
        assert self._transport is not None
        return int(self._transport.get_extra_info("sockname")[1])

    def received(self, data: bytes, addr: Address) -> None:
        if self._transport is None or self.phone is None:
            return
        if addr == self.phone:
            if self.node is None:
                return
            if self._rng.random() * 100.0 < self.impairment.loss_pct:
                self.dropped += 1
                return
            delay = self._rng.random() * self.impairment.jitter_ms / 1000.0
            self.forwarded += 1
            if delay <= 0:
                self._transport.sendto(data, self.node)
            else:
                asyncio.get_running_loop().call_later(delay, self._send, data, self.node)
        else:
            self.node = self.node or addr
            self._transport.sendto(data, self.phone)

    def _send(self, data: bytes, addr: Address) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, addr)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
