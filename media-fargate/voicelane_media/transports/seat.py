"""A seat in a conference room for an AI agent: an in-process leg with the room as its far end.

The agent runs on a call like on any other (``calls/agent_runner.py``): its ``MediaLeg`` is a
transport's (``paced_leg.PacedAgentLeg``, as on WebRTC), and the call's recorder and taps see
the usual two directions. What is unusual is only the other side: no socket, but the room's
mixer. :attr:`RoomSeat.room_side` is what the room joins (``calls/bridge.MediaRoom.join``, the
same call as for a SIP or WebRTC leg), seen from the room: the audio it taps is the agent's
(the seat's paced playout, silence when the agent is quiet) and the live source it sets is
what the agent hears (the mix of everyone else: the mixer never gives a participant its own
voice back). One 20 ms clock (the playout's) moves both ways, so the agent is heard and hears
in step.

A seat is answered at once (its ``dial``); hanging it up ends the agent's call (its record
ends ``completed``). It has no DTMF, no hold of its own (the room holds and mutes it) and no
REFER.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import numpy as np

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.audio_taps import AudioTaps
from voicelane_media.transports.base import (
    AudioTap,
    Ending,
    LiveSource,
    Referral,
)
from voicelane_media.transports.paced_media import PacedMedia
from voicelane_media.transports.playout import Playout

RATE = 16000  # the agent's own rate: no resampling on its side; the room resamples per leg


class RoomSide:
    """The seat as the room sees it: a ``MixableLeg`` (``calls/bridge.py``)."""

    sample_rate = RATE

    def __init__(self) -> None:
        self.taps: list[AudioTap] = []  # the room's ear on the agent
        self.source: LiveSource | None = None  # the room's mix for the agent

    def add_audio_tap(self, tap: AudioTap) -> None:
        self.taps.append(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        if tap in self.taps:
            self.taps.remove(tap)

    def set_live_source(self, source: LiveSource | None) -> None:
        self.source = source


class RoomSeat(PacedMedia):
    """A ``transports.base.Transport`` whose far end is a conference room."""

    sample_rate = RATE
    what = "a room seat"

    def __init__(self) -> None:
        self._init_media()
        self.canceled = asyncio.Event()
        self.closed = False
        self.room_side = RoomSide()
        self.playout = Playout(RATE, self._send_frame, self._send_mark, send_idle=True)
        self.caller_taps = AudioTaps(RATE)  # what the agent hears, frame by frame
        self._clock: asyncio.Task[None] | None = None
        self.frames_to_room = 0
        self.frames_from_room = 0

    # -- binding and state ----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._clock is not None and not self.closed

    async def answer(self) -> Ending | None:
        if self._clock is None and not self.closed:
            self._clock = asyncio.ensure_future(self.playout.run())
        return None

    async def dial(self) -> Ending | None:
        """Nothing to ring: the seat is taken at once and its clock starts."""
        return await self.answer()

    async def reject(self, reason: str) -> int:
        self.closed = True
        return 0

    async def hangup(self, reason: str) -> None:
        self.closed = True

    async def hold(self, held: bool) -> dict[str, Any] | None:
        return {"reason": "not_supported"}  # the room holds a participant (conference hold)

    async def refer(self, to: str) -> Referral | None:
        return None

    async def send_dtmf(self, digits: str) -> None:
        raise ValueError("a conference seat has no DTMF")

    # -- one tick: the agent's frame into the room, the room's mix to the agent ------------

    async def _send_frame(self, pcm: Int16Array) -> None:
        for tap in list(self.room_side.taps):
            tap(pcm)
        self.frames_to_room += 1
        source = self.room_side.source
        heard = source() if source is not None else None
        if heard is not None:
            self.frames_from_room += 1
        self.caller_taps.feed(heard if heard is not None
                              else np.zeros(RATE // 50, dtype=np.int16))

    async def _send_mark(self, name: str) -> None:
        self.playout.mark_echoed(name, asyncio.get_running_loop().time())  # heard when sent

    # -- the call's media -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return {"transport": "conference_seat", "sample_rate": RATE,
                "frames_to_room": self.frames_to_room,
                "frames_from_room": self.frames_from_room, **self.playout.stats()}

    async def close(self) -> None:
        self.closed = True
        clock, self._clock = self._clock, None
        if clock is not None and clock is not asyncio.current_task():
            clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock
