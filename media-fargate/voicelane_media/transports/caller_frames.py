"""The caller side of an agent's `MediaLeg`, the same on every transport.

Every 20 ms frame of the caller's audio (an audio tap, so recording and other taps keep
working) and every digit go through one asyncio queue to the agent, resampled once from the
transport's rate to the agent's; the stream ends when the call ends. A stalled agent drops
frames (counted) rather than growing memory. While the caller is held for a transfer
(``caller_held``) the agent hears silence and no digits: the caller is not talking to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import numpy as np

from voicelane_media.agent.frames import DTMF, AudioIn
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16
from voicelane_media.transports.base import AudioTap, CallEvents

MAX_QUEUED_FRAMES = 500  # 10 s of caller audio


class CallerAudio(Protocol):
    """Where the caller's audio and digits come from (an RTP session, a media stream)."""

    def digits(self) -> contextlib.AbstractContextManager[asyncio.Queue[str]]: ...

    def add_audio_tap(self, tap: AudioTap) -> None: ...

    def remove_audio_tap(self, tap: AudioTap) -> None: ...


class CallerFrames:
    """The agent's inbound iterator over one call's caller audio and digits."""

    def __init__(self, source: CallerAudio, call: CallEvents, source_rate: int,
                 agent_rate: int, name: str) -> None:
        self.source = source
        self.call = call
        self.source_rate = source_rate
        self.agent_rate = agent_rate
        self.name = name  # for the helper tasks' names
        self.dropped_frames = 0
        self._queue: asyncio.Queue[AudioIn | DTMF | None] = asyncio.Queue()

    def _on_audio(self, pcm: Int16Array) -> None:
        if self._queue.qsize() >= MAX_QUEUED_FRAMES:
            self.dropped_frames += 1
            return
        if self.call.caller_held:
            pcm = np.zeros_like(pcm)
        data = pcm.astype("<i2", copy=False).tobytes()
        if self.agent_rate != self.source_rate:
            data = resample_pcm16(data, self.source_rate, self.agent_rate)
        self._queue.put_nowait(AudioIn(pcm=data, sample_rate=self.agent_rate))

    async def _pump_digits(self) -> None:
        with self.source.digits() as digits:
            while True:
                digit = await digits.get()
                if not self.call.caller_held:
                    self._queue.put_nowait(DTMF(digit=digit))

    async def _watch_end(self) -> None:
        await self.call.ended.wait()
        self._queue.put_nowait(None)

    async def frames(self) -> AsyncIterator[AudioIn | DTMF]:
        """Caller frames and digits until the call ends."""
        self.source.add_audio_tap(self._on_audio)
        helpers = [asyncio.create_task(self._pump_digits(), name=f"{self.name}-digits"),
                   asyncio.create_task(self._watch_end(), name=f"{self.name}-end")]
        try:
            while (item := await self._queue.get()) is not None:
                yield item
        finally:
            self.source.remove_audio_tap(self._on_audio)
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
