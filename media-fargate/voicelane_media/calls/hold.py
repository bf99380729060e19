"""Hold music: what a held caller hears while its call waits (a warm transfer dials).

Hold music is playback on the held leg alone (``Transport.play``), looped until stopped, so
it takes precedence over anything bridged to that leg and nobody else hears it. While it
plays, the call's agent hears silence and no digits (``LiveCall.caller_held``). The default
is a soft two-note chime generated here (no file to ship); ``url`` plays the app's own audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import numpy as np

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.media import audio

from .call import LiveCall

log = logging.getLogger(__name__)
CHIME_HZ = (523.25, 659.25)  # C5, E5
LEVEL = 0.12  # of full scale: music under a conversation, not a beep over it


def chime(rate: int) -> Int16Array:
    """Three seconds at ``rate``: two soft notes with a fade each, then a rest."""
    parts: list[np.ndarray] = []
    for hz in CHIME_HZ:
        t = np.arange(int(rate * 0.6)) / rate
        envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.05)
        parts.append(np.sin(2 * np.pi * hz * t) * envelope)
    parts.append(np.zeros(int(rate * 1.8)))
    return (np.concatenate(parts) * LEVEL * 32767).astype(np.int16)


class HoldMusic:
    """Loops hold music on one call's leg from :meth:`start` until :meth:`stop`."""

    def __init__(self, live: LiveCall, url: str | None = None) -> None:
        self.live = live
        self.url = url
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def start(self) -> None:
        self.live.caller_held = True
        self._task = self.live.spawn(self._loop())

    async def _pcm(self) -> Int16Array:
        rate = self.live.transport.sample_rate
        if self.url:
            try:
                return await audio.load(self.url, rate, objects=self.live.control)
            except Exception as exc:  # unreadable music: the default keeps the caller company
                log.warning("hold music %s of %s unreadable: %s", self.url, self.live.call_id, exc)
        return chime(rate)

    async def _loop(self) -> None:
        pcm = await self._pcm()
        while not self._stopped and not self.live.finished:
            await self.live.transport.play(pcm)

    async def stop(self) -> None:
        """The music stops at the next 20 ms frame."""
        if self._stopped:
            return
        self._stopped = True
        self.live.caller_held = False
        with contextlib.suppress(Exception):
            self.live.transport.stop_playback()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
