"""The agent loop's `MediaLeg` on a paced transport (``paced_media.PacedMedia``: a WebSocket
media stream, a WebRTC peer connection, a conference seat).

- inbound: the caller's 20 ms frames (an audio tap) and digits through one queue, until the
  call ends; resampled once when the stream's rate is not the agent's.
- outbound: each `send_audio` is one playout segment, followed by a mark; it never waits.
- `clear()` drops the agent's queued audio, sends the dialect's clear and returns what the
  far end heard, read from the marks' echoes (see ``playout.py``), not what was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import numpy as np
from voicelane.domain.transfer import WarmTransferSpec

from voicelane_media.agent.frames import DTMF, AudioIn
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16
from voicelane_media.transports.base import AudioTap, CallEvents, shielded
from voicelane_media.transports.caller_frames import CallerFrames
from voicelane_media.transports.playout import Playout


class StreamHost(Protocol):
    """What the leg needs of its transport (a ``paced_media.PacedMedia``)."""

    sample_rate: int
    playout: Playout

    @property
    def closed(self) -> bool: ...

    def digits(self) -> contextlib.AbstractContextManager[asyncio.Queue[str]]: ...

    def add_audio_tap(self, tap: AudioTap) -> None: ...

    def remove_audio_tap(self, tap: AudioTap) -> None: ...

    async def clear_agent_audio(self) -> None: ...


class PacedAgentLeg:
    """`voicelane_media.agent.MediaLeg` on a paced transport."""

    def __init__(self, transport: StreamHost, call: CallEvents) -> None:
        self.transport = transport
        self.leg = call
        self.sample_rate = 16000 if transport.sample_rate >= 16000 else 8000
        self._caller = CallerFrames(transport, call, transport.sample_rate, self.sample_rate,
                                    "ws-leg")
        self.transfer_task: asyncio.Task[None] | None = None

    @property
    def dropped_frames(self) -> int:
        return self._caller.dropped_frames

    def inbound(self) -> AsyncIterator[AudioIn | DTMF]:
        """Caller frames until the call ends (stop, closed socket, hangup)."""
        return self._caller.frames()

    async def send_audio(self, pcm: bytes) -> None:
        """Queue agent audio (PCM16 at `sample_rate`) behind what is already playing."""
        if self.leg.finished or self.transport.closed or not pcm:
            return
        if self.sample_rate != self.transport.sample_rate:
            pcm = resample_pcm16(pcm, self.sample_rate, self.transport.sample_rate)
        samples: Int16Array = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int16)
        self.transport.playout.enqueue(samples, agent=True)

    def played_ms(self) -> float:
        now = asyncio.get_running_loop().time()
        return self.transport.playout.agent_heard_samples(now) / self.transport.sample_rate * 1000

    async def clear(self) -> float:
        """Barge-in: the agent's audio stops; ms of it the far end played (by its marks)."""
        await self.transport.clear_agent_audio()
        return self.played_ms()

    async def send_dtmf(self, digits: str) -> None:
        await self.leg.send_dtmf(digits)  # reported as call.dtmf.failed: a stream has no DTMF out

    async def hangup(self, reason: str) -> None:
        """End the call, unless a transfer now owns it (its bridge ends the call)."""
        if reason == "transferred" and self.transfer_task is not None:
            return
        if not self.leg.finished:
            await self.leg.hangup(reason)

    async def transfer(self, target: str) -> None:
        """Dial `target` and bridge the stream to it (a stream has no REFER), in the
        background; Forbidden first for a destination the app may not dial."""
        await self.leg.check_destination(target)  # Forbidden: the tool answers the refusal
        self.transfer_task = self.leg.spawn(self.leg.transfer(target))

    async def warm_transfer(self, spec: WarmTransferSpec) -> dict[str, Any]:
        """Hold, dial, whisper, bridge (the call's own task); the outcome."""
        return await shielded(self.leg, self.leg.warm_transfer(spec))

    def stats(self) -> dict[str, Any]:
        return {"played_ms": round(self.played_ms(), 1), "dropped_frames": self.dropped_frames}
