"""Legs of any transport joined in one mix: a two-party bridge, or a conference's room.

A :class:`MediaRoom` owns a :class:`~voicelane_media.calls.mixer.Mixer` and the 20 ms clock
that drives it. Joining a leg taps its caller audio into the mix and sets the leg's live source
to what that leg should hear (``Transport.set_live_source``), so SIP/RTP, WebSocket and WebRTC
legs mix alike, each at its own rate and on its own media clock. Playback on a leg (hold music,
a whisper, a prompt) still takes precedence over the mix on that leg alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from voicelane_media.calls.mixer import Mixer, MixerError, Participant
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.base import AudioTap, LiveSource

log = logging.getLogger(__name__)

FRAME_S = 0.02
MixTap = Callable[[Int16Array, int], None]  # the whole room's mix and its rate, every tick


class MixableLeg(Protocol):
    """What a room needs of a leg (every ``Transport`` has it)."""

    @property
    def sample_rate(self) -> int: ...

    def add_audio_tap(self, tap: AudioTap) -> None: ...

    def remove_audio_tap(self, tap: AudioTap) -> None: ...

    def set_live_source(self, source: LiveSource | None) -> None: ...


@dataclass
class _Member:
    leg: MixableLeg
    tap: AudioTap


class MediaRoom:
    """Legs mixed together until :meth:`close`; each hears everyone but itself."""

    def __init__(self) -> None:
        self.mixer = Mixer()
        self.mix_taps: list[MixTap] = []  # e.g. a conference recording's mixed channel
        self.late_ticks = 0  # ticks the event loop ran more than 200 ms late (then resynced)
        self._members: dict[Hashable, _Member] = {}
        self._clock: asyncio.Task[None] | None = None
        self.closed = False

    def join(self, key: Hashable, leg: MixableLeg, *, muted: bool = False) -> Participant:
        """Mix ``leg`` in under ``key`` (raises ``MixerError`` for a key already in)."""
        if self.closed:
            raise MixerError("the room is closed")
        participant = self.mixer.add(key, leg.sample_rate)
        participant.muted = muted
        mixer = self.mixer

        def tap(frame: Int16Array) -> None:
            mixer.push(key, frame)

        def source() -> Int16Array | None:
            return mixer.pull(key)

        leg.add_audio_tap(tap)
        leg.set_live_source(source)
        self._members[key] = _Member(leg, tap)
        if self._clock is None:
            self._clock = asyncio.get_running_loop().create_task(self._run())
        return participant

    def leave(self, key: Hashable) -> Participant | None:
        """Take ``key``'s leg out of the mix (its live source back to silence)."""
        member = self._members.pop(key, None)
        if member is None:
            return None
        with contextlib.suppress(Exception):  # a leg already closed
            member.leg.remove_audio_tap(member.tap)
            member.leg.set_live_source(None)
        return self.mixer.remove(key)

    def mute(self, key: Hashable, muted: bool) -> None:
        """The others stop (or start again) hearing ``key``."""
        self.mixer.participant(key).muted = muted

    def hold(self, key: Hashable, held: bool) -> None:
        """A held leg neither hears the room nor is heard (its hold music is its playback)."""
        participant = self.mixer.participant(key)
        participant.held = held
        participant.outbound.clear()

    def __contains__(self, key: object) -> bool:
        return key in self._members

    @property
    def keys(self) -> list[Hashable]:
        return list(self._members)

    def stats(self) -> dict[str, Any]:
        return {"ticks": self.mixer.ticks, "late_ticks": self.late_ticks,
                "participants": {str(p.key): p.stats() for p in self.mixer}}

    async def close(self) -> None:
        """Every leg out of the mix, the clock stopped."""
        self.closed = True
        for key in list(self._members):
            self.leave(key)
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock
            self._clock = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            try:
                mixed = self.mixer.mix()
                for mix_tap in list(self.mix_taps):
                    mix_tap(mixed, self.mixer.sample_rate)
            except Exception:  # one bad tick (a tap) never ends the room
                log.exception("mix tick failed")
            next_at += FRAME_S
            delay = next_at - loop.time()
            if delay < -0.2:  # the loop stalled: do not burst to catch up
                self.late_ticks += 1
                next_at = loop.time()
            await asyncio.sleep(max(0.0, delay))


def bridge(a: MixableLeg, b: MixableLeg) -> MediaRoom:
    """Two legs hearing each other until the room is closed (call it from a running loop)."""
    room = MediaRoom()
    room.join("a", a)
    room.join("b", b)
    return room
