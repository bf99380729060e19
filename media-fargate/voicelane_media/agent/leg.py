"""The transport interface the agent loop runs on, and an in-memory leg for tests and benchmarks.

A leg is one party's audio path (SIP/RTP, WebSocket media stream, WebRTC). The agent loop only
needs what `MediaLeg` declares, so every transport plugs in by implementing it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from voicelane.domain.transfer import WarmTransferSpec

from voicelane_media.agent.frames import DTMF, AudioIn

FRAME_MS = 20


def frame_bytes(sample_rate: int, ms: int = FRAME_MS) -> int:
    """Bytes of PCM16 mono audio in `ms` milliseconds at `sample_rate`."""
    return sample_rate * ms // 1000 * 2


def pcm_ms(pcm_len: int, sample_rate: int) -> float:
    return pcm_len / 2 / sample_rate * 1000.0


@runtime_checkable
class MediaLeg(Protocol):
    """What the agent loop needs from a transport.

    - `sample_rate`: rate of PCM16 mono audio both ways (8000 or 16000).
    - `inbound()`: async iterator of `AudioIn` (20 ms frames) and `DTMF` frames from the caller;
      it ends when the caller's side is gone.
    - `send_audio(pcm)`: queue agent audio for paced playout and return promptly.
    - `clear()`: stop playout at once, drop what is queued, and return the total milliseconds of
      agent audio actually played on this leg since it started (a running counter).
    - `played_ms()`: the same counter, without stopping anything.
    - `send_dtmf`, `hangup`, `transfer`: call control; the transport carries them out.
      `transfer` raises `Forbidden` (`destination_not_allowed`) for a target the app may not
      dial, before anything is sent.
    - `warm_transfer(spec)`: hold, dial, whisper, bridge; returns the outcome (`ok`,
      `bridged`, or `error` with a `message` the LLM can say), the caller back when not bridged.
    """

    sample_rate: int

    def inbound(self) -> AsyncIterator[AudioIn | DTMF]: ...

    async def send_audio(self, pcm: bytes) -> None: ...

    async def clear(self) -> float: ...

    def played_ms(self) -> float: ...

    async def send_dtmf(self, digits: str) -> None: ...

    async def hangup(self, reason: str) -> None: ...

    async def transfer(self, target: str) -> None: ...

    async def warm_transfer(self, spec: WarmTransferSpec) -> dict[str, Any]: ...


@dataclass
class PlayedChunk:
    """Agent audio that left the in-memory leg's playout clock (what the caller heard)."""

    at: float
    pcm: bytes


@dataclass
class InMemoryLeg:
    """A leg with real-time paced playout on the monotonic clock, fed by a test or a benchmark.

    Put caller audio with `feed_pcm` (split into 20 ms frames) / `feed_dtmf`, and `close_inbound`
    when the caller is done. Agent audio is played out at real-time speed in 20 ms steps;
    `played` records what was heard and when, `clears` when playout was stopped.
    """

    sample_rate: int = 16000
    realtime_inbound: bool = True
    played: list[PlayedChunk] = field(default_factory=list)
    clears: list[float] = field(default_factory=list)
    dtmf_sent: list[str] = field(default_factory=list)
    transfers: list[str] = field(default_factory=list)
    warm_transfers: list[WarmTransferSpec] = field(default_factory=list)
    warm_transfer_result: dict[str, Any] = field(
        default_factory=lambda: {"ok": True, "bridged": True})
    hangup_reason: str | None = None
    hangup_at: float | None = None

    def __post_init__(self) -> None:
        self._inbound: asyncio.Queue[AudioIn | DTMF | None] = asyncio.Queue()
        self._queue: deque[bytes] = deque()
        self._played_bytes = 0
        self._wakeup = asyncio.Event()
        self._playout: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    # -- test side -------------------------------------------------------------------------
    def feed_pcm(self, pcm: bytes) -> None:
        """Queue caller audio; it is delivered as 20 ms frames (paced if `realtime_inbound`)."""
        size = frame_bytes(self.sample_rate)
        for start in range(0, len(pcm) - size + 1, size):
            self._inbound.put_nowait(
                AudioIn(pcm=pcm[start : start + size], sample_rate=self.sample_rate)
            )

    def feed_silence(self, ms: int) -> None:
        self.feed_pcm(b"\x00\x00" * (self.sample_rate * ms // 1000))

    def feed_dtmf(self, digits: str) -> None:
        for digit in digits:
            self._inbound.put_nowait(DTMF(digit=digit))

    def close_inbound(self) -> None:
        self._inbound.put_nowait(None)

    async def drained(self) -> None:
        """Wait until every fed caller frame has been delivered."""
        while not self._inbound.empty():
            await asyncio.sleep(0.005)

    def heard_pcm(self) -> bytes:
        return b"".join(chunk.pcm for chunk in self.played)

    # -- MediaLeg ----------------------------------------------------------------------------
    async def inbound(self) -> AsyncIterator[AudioIn | DTMF]:  # type: ignore[override]
        step = FRAME_MS / 1000.0
        next_at = time.monotonic()
        while not self._closed.is_set():
            item = await self._inbound.get()
            if item is None:
                return
            if self.realtime_inbound and isinstance(item, AudioIn):
                next_at = max(next_at, time.monotonic())
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at += step
            item.at = time.monotonic()
            yield item

    async def send_audio(self, pcm: bytes) -> None:
        if self.hangup_reason is not None:
            return
        size = frame_bytes(self.sample_rate)
        for start in range(0, len(pcm), size):
            self._queue.append(pcm[start : start + size])
        if self._playout is None or self._playout.done():
            self._playout = asyncio.create_task(self._play())

    async def _play(self) -> None:
        next_at = time.monotonic()
        while self._queue:
            chunk = self._queue.popleft()
            # The chunk is "on the wire" for its 20 ms; it counts as heard when that time elapsed.
            next_at += len(chunk) / 2 / self.sample_rate
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._played_bytes += len(chunk)
            self.played.append(PlayedChunk(at=time.monotonic(), pcm=chunk))

    async def clear(self) -> float:
        self._queue.clear()
        if self._playout is not None and not self._playout.done():
            self._playout.cancel()
        self.clears.append(time.monotonic())
        return self.played_ms()

    def played_ms(self) -> float:
        return pcm_ms(self._played_bytes, self.sample_rate)

    def queued_ms(self) -> float:
        return pcm_ms(sum(len(c) for c in self._queue), self.sample_rate)

    async def send_dtmf(self, digits: str) -> None:
        self.dtmf_sent.append(digits)

    async def hangup(self, reason: str) -> None:
        if self.hangup_reason is None:
            self.hangup_reason = reason
            self.hangup_at = time.monotonic()
        self._queue.clear()
        self._closed.set()
        self._inbound.put_nowait(None)

    async def transfer(self, target: str) -> None:
        self.transfers.append(target)

    async def warm_transfer(self, spec: WarmTransferSpec) -> dict[str, Any]:
        self.warm_transfers.append(spec)
        return dict(self.warm_transfer_result)
