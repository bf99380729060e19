"""The call-media half shared by the transports whose outbound audio is a paced ``Playout``.

A WebSocket media stream (``ws/transport.py``), a WebRTC peer connection
(``webrtc/transport.py``) and a conference seat (``seat.py``) differ in how frames leave
(a dialect's JSON, an aiortc track, a room's mixer) but not in the call's media: playback
and the agent's audio go through one ``playout.Playout`` clock, the caller's audio reaches
the taps re-cut by ``audio_taps.AudioTaps``, digits arrive through queues, and none of them
has early media. :class:`PacedMedia` is that common part, written once; a transport only
says how to clear what its far end has buffered (a stream's ``clear``), if anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import numpy as np

from voicelane_media.agent.leg import MediaLeg
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.audio_taps import AudioTaps
from voicelane_media.transports.base import (
    AudioTap,
    CallEvents,
    EarlyMediaRefused,
    Ending,
    LiveSource,
)
from voicelane_media.transports.paced_leg import PacedAgentLeg
from voicelane_media.transports.playout import Playout


class PacedMedia:
    """Mixin: playback, taps, live source, digits and the agent leg over ``self.playout``.

    The transport sets ``playout``, ``caller_taps`` and ``closed`` in its ``__init__`` and
    calls :meth:`_init_media` first.
    """

    playout: Playout
    caller_taps: AudioTaps
    closed: bool
    sample_rate: int
    what: str = "this leg"  # the refusal's wording: "pre_answer needs ...; this is <what>"

    def _init_media(self) -> None:
        self._events: CallEvents | None = None
        self._digit_queues: list[asyncio.Queue[str]] = []

    # -- binding and state ----------------------------------------------------------------

    def bind(self, events: CallEvents) -> None:
        self._events = events

    @property
    def events(self) -> CallEvents:
        if self._events is None:
            raise RuntimeError(f"{self.what} is not bound to a call yet")
        return self._events

    @property
    def ringing(self) -> bool:
        return False

    async def ring(self) -> None:
        return None

    @property
    def early_media(self) -> bool:
        return False

    async def pre_answer(self) -> Ending | None:
        raise EarlyMediaRefused("early_media_not_supported",
                                f"pre_answer needs an inbound SIP call; this is {self.what}")

    # -- digits ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def digits(self) -> Iterator[asyncio.Queue[str]]:
        """The caller's digits while the block runs (the agent leg's view)."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._digit_queues.append(queue)
        try:
            yield queue
        finally:
            self._digit_queues.remove(queue)

    def _deliver_digit(self, digit: str) -> None:
        """A digit from the caller: the call's event, then every open ``digits()`` block."""
        if self._events is not None and not self._events.finished:
            self._events.dtmf_received(digit)
        for queue in self._digit_queues:
            queue.put_nowait(digit)

    # -- the call's media -----------------------------------------------------------------

    async def play(self, pcm: Int16Array) -> int:
        if self.closed:
            return 0
        return await self.playout.enqueue(pcm.astype(np.int16, copy=False), agent=False).done

    def stop_playback(self) -> int:
        """Drop all queued audio; samples heard of what was playing."""
        playing, must_clear = self.playout.cut(asyncio.get_running_loop().time())
        if must_clear and not self.closed:
            self._clear_far_end_soon()
        return playing

    async def clear_agent_audio(self) -> None:
        """Barge-in: drop the agent's queued audio and what the far end buffered of it."""
        _, must_clear = self.playout.cut(asyncio.get_running_loop().time(), agent_only=True)
        if must_clear:
            await self._clear_far_end()

    async def _clear_far_end(self) -> None:
        """Tell the far end to drop the audio it buffered (nothing to do by default)."""

    def _clear_far_end_soon(self) -> None:
        """:meth:`_clear_far_end` without waiting for it (from synchronous code)."""

    def add_audio_tap(self, tap: AudioTap) -> None:
        self.caller_taps.add(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        self.caller_taps.remove(tap)

    def add_playout_tap(self, tap: AudioTap) -> None:
        """Also deliver every 20 ms frame sent toward the caller (silence when idle)."""
        self.playout.taps.append(tap)

    def remove_playout_tap(self, tap: AudioTap) -> None:
        if tap in self.playout.taps:
            self.playout.taps.remove(tap)

    def set_live_source(self, source: LiveSource | None) -> None:
        self.playout.live_source = source

    def media_leg(self) -> MediaLeg:
        return PacedAgentLeg(self, self.events)
