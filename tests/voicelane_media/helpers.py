"""Helpers for media-session tests: wiring sessions, test signals, a raw UDP peer."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import numpy as np
from voicelane_media.codecs.g711 import Int16Array, ulaw_decode, ulaw_encode
from voicelane_media.transports.sip.rtp import RtpPortPool, RtpSession


async def connected_pair(pool: RtpPortPool, payload_type: int = 0,
                         **kwargs: Any) -> tuple[RtpSession, RtpSession]:
    """Two sessions pointed at each other (A is the platform, B the caller)."""
    a = await pool.open_session(**kwargs)
    b = await pool.open_session(**kwargs)
    a.set_remote("127.0.0.1", b.local_port, payload_type, 101)
    b.set_remote("127.0.0.1", a.local_port, payload_type, 101)
    return a, b


def g711_exact_noise(samples: int, seed: int = 1) -> Int16Array:
    """Noise whose samples survive a mu-law/A-law round trip unchanged (already quantized)."""
    rng = np.random.default_rng(seed)
    return ulaw_decode(ulaw_encode(rng.normal(0, 3000, samples).astype(np.int16)))


def tone(freq: float, seconds: float, amplitude: int = 8000) -> Int16Array:
    t = np.arange(int(seconds * 8000)) / 8000.0
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant_hz(pcm: Int16Array) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(np.argmax(spectrum) * 8000 / len(pcm))


def find_frames(stream: Int16Array, signal: Int16Array) -> int:
    """Index in ``stream`` where ``signal`` occurs sample-exactly, or -1."""
    frame = signal[:160]
    for start in range(0, len(stream) - len(signal) + 1):
        if stream[start] == frame[0] and np.array_equal(stream[start:start + 160], frame):
            return start if np.array_equal(stream[start:start + len(signal)], signal) else -1
    return -1


class RawPeer(asyncio.DatagramProtocol):
    """A plain UDP socket standing in for a far end: records (arrival time, datagram)."""

    def __init__(self) -> None:
        self.packets: list[tuple[float, bytes]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.packets.append((asyncio.get_running_loop().time(), data))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


async def raw_peer() -> RawPeer:
    loop = asyncio.get_running_loop()
    _, peer = await loop.create_datagram_endpoint(RawPeer, local_addr=("127.0.0.1", 0))
    return peer
