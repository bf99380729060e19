"""Conferences on this node: one :class:`~voicelane_media.calls.bridge.MediaRoom` per
conference, holding the legs of its participants.

A conference lives on the node of its first leg (the control plane's join write fixes
``media_node``); participants dialled into it are dialled here (``CallManager.dial_leg`` with
purpose ``conference``), so their legs are claimed here too. A call on another node cannot
join (``conference_on_other_node``). State changes (join, leave, mute, hold, end) are the
control plane's conditional writes with their events; the room is the audio: each leg hears
the others' mix, a short tone marks a join or a leave, and with ``record`` the room's mix is
recorded on one channel and saved when the conference ends (``conference.recording.saved``).
An AI agent can take a seat in the room (``conference_agent.py``); a room where only agents
are left ends (``last_participant_left``): they have nobody to talk to.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from voicelane.domain.call import Channel
from voicelane.domain.conference import Conference
from voicelane.domain.errors import Conflict, NotFound

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample
from voicelane_media.media import audio
from voicelane_media.transports.base import Ending

from .bridge import MediaRoom, MixableLeg
from .call import LiveCall
from .conference_agent import AgentSeating
from .ports import ControlPort

log = logging.getLogger(__name__)

BEEP_KEY = "__beep__"  # the room's own voice: the join/leave tone (it hears nothing)
BEEP_HZ = 1400.0
BEEP_S = 0.1  # five 20 ms frames: the beep participant's queue holds exactly that
BEEP_RATE = 8000
RECORDING_RATE = 8000


class JoinRefused(Exception):
    """Why a call could not join (HTTP status and code for the internal API)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class DialOutcome(Protocol):
    """What dialling a leg gave (``calls/legs.py``'s DialedLeg)."""

    @property
    def live(self) -> LiveCall | None: ...

    @property
    def ending(self) -> Ending | None: ...


Dialer = Callable[[LiveCall, str, str | None], Awaitable[DialOutcome]]


def beep_frames() -> list[Int16Array]:
    """The join/leave tone: 100 ms at 1400 Hz with 10 ms ramps (no click), 20 ms frames."""
    n = int(BEEP_RATE * BEEP_S)
    t = np.arange(n) / BEEP_RATE
    ramp = np.minimum(1.0, np.minimum(t, BEEP_S - t) / 0.01)
    tone = np.asarray(6000 * ramp * np.sin(2 * np.pi * BEEP_HZ * t), dtype=np.int16)
    size = BEEP_RATE // 50
    return [tone[i:i + size] for i in range(0, n, size)]


@dataclass
class Room:
    """One conference's media on this node."""

    conference: Conference
    media: MediaRoom = field(default_factory=MediaRoom)
    legs: dict[str, LiveCall] = field(default_factory=dict)
    moderators: set[str] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)  # the calls of seated agents
    hold_music: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    recording: bytearray | None = None
    tracks: dict[str, Track] = field(default_factory=dict)  # with record_tracks, per call
    ending: bool = False

    def beep(self) -> None:
        if not self.conference.beep or self.media.closed:
            return
        mixer = self.media.mixer
        if BEEP_KEY not in mixer:
            mixer.add(BEEP_KEY, BEEP_RATE).hearing = False
        for frame in beep_frames():
            mixer.push(BEEP_KEY, frame)

    def record_tap(self, mixed: Int16Array, rate: int) -> None:
        if self.recording is None:
            return
        self.recording += _at_recording_rate(mixed, rate)
        voices = self.media.mixer.last_voices
        silent = np.zeros(mixed.shape[0], dtype=np.float64)
        for call_id, track in self.tracks.items():
            if track.open:  # silence on a tick it said nothing (muted, held, lost)
                track.pcm += _at_recording_rate(voices.get(call_id, silent), rate)

    def start_track(self, live: LiveCall) -> None:
        """Its track starts now: at the mix's current length (its ``offset_s``)."""
        if self.recording is not None and self.conference.record_tracks:
            offset = len(self.recording) / 2 / RECORDING_RATE
            self.tracks[live.call_id] = Track(offset, live.call.agent_id
                                              if live.call.to_channel == Channel.AGENT else None)

    def wav(self) -> bytes:
        return wav_of(bytes(self.recording or b""))


@dataclass
class Track:
    """One participant's track: what the room heard from it, from its join to its leave."""

    offset_s: float
    agent_id: str | None
    pcm: bytearray = field(default_factory=bytearray)
    open: bool = True

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / RECORDING_RATE


def _at_recording_rate(samples: npt.NDArray[np.generic], rate: int) -> bytes:
    x = np.asarray(samples, dtype=np.float64)
    if rate != RECORDING_RATE:
        x = resample(x, rate, RECORDING_RATE)
    return np.asarray(np.clip(np.round(x), -32768, 32767), dtype="<i2").tobytes()


def wav_of(pcm: bytes) -> bytes:
    """Mono 16-bit WAV at the recording rate."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RECORDING_RATE)
        w.writeframes(pcm)
    return out.getvalue()


class ConferenceHub:
    """The conferences whose rooms are on this node, keyed by conference id."""

    def __init__(self, control: ControlPort, dial: Dialer,
                 seating: AgentSeating | None = None) -> None:
        self.control = control
        self.dial_leg = dial
        self.seating = seating
        self.rooms: dict[str, Room] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def room(self, conference_id: str) -> Room:
        room = self.rooms.get(conference_id)
        if room is None or room.ending:
            raise JoinRefused(404, "conference_not_here", "this node holds no such conference")
        return room

    def conference_of(self, call_id: str) -> str | None:
        return next((cid for cid, r in self.rooms.items() if call_id in r.legs), None)

    # -- joining and leaving ----------------------------------------------------------------

    async def join(self, live: LiveCall, conference_id: str, *, moderator: bool,
                   muted: bool, mix_as: MixableLeg | None = None) -> Conference:
        """The conditional join write, then the leg into the room (JoinRefused if refused);
        ``mix_as``: what the room mixes for the call (an agent's seat), else its transport."""
        if self.conference_of(live.call_id) is not None:
            raise JoinRefused(409, "already_in_conference", "the call is in a conference")
        try:
            conference = await self.control.join_conference(
                conference_id, live.call_id, moderator=moderator, muted=muted)
        except (Conflict, NotFound) as exc:
            raise JoinRefused(409, exc.code,
                              exc.message) from None
        room = self.rooms.get(conference_id)
        if room is None:
            room = self.rooms[conference_id] = Room(conference)
            if conference.record:
                room.recording = bytearray()
                room.media.mix_taps.append(room.record_tap)
        room.conference = conference
        room.media.join(live.call_id, mix_as or live.transport, muted=muted)
        room.legs[live.call_id] = live
        room.start_track(live)
        if mix_as is not None:
            room.agents.add(live.call_id)
        if moderator:
            room.moderators.add(live.call_id)
        room.beep()
        self._spawn(self._leave_when_ended(room, live))  # not live.spawn: its end cancels those
        return conference

    async def _leave_when_ended(self, room: Room, live: LiveCall) -> None:
        await live.ended.wait()
        await self.leave(room, live.call_id, live.hangup_reason or "hangup")

    async def leave(self, room: Room, call_id: str, reason: str) -> None:
        """Take the leg out (its call goes on unless it was kicked); may end the conference."""
        live = room.legs.pop(call_id, None)
        if live is None:
            return
        self._stop_music(room, live)
        room.media.leave(call_id)
        if call_id in room.tracks:
            room.tracks[call_id].open = False
        moderator = call_id in room.moderators
        room.moderators.discard(call_id)
        room.agents.discard(call_id)
        await self.control.leave_conference(room.conference.conference_id, call_id, reason)
        if room.ending:
            return
        if not set(room.legs) - room.agents:  # nobody left, or agents only
            await self.end(room, "last_participant_left")
        elif moderator and room.conference.end_on_moderator_leave:
            await self.end(room, "moderator_left")
        else:
            room.beep()

    async def end(self, room: Room, reason: str) -> None:
        """Everyone out (their calls hung up), the recording saved, the conference ended."""
        if room.ending:
            return
        room.ending = True
        conference_id = room.conference.conference_id
        for call_id, live in list(room.legs.items()):
            room.legs.pop(call_id, None)
            self._stop_music(room, live)
            room.media.leave(call_id)
            await self.control.leave_conference(conference_id, call_id, "conference_ended")
            if not live.finished:
                await live.hangup("conference_ended")
        await room.media.close()
        for call_id, track in room.tracks.items():  # each file before the mix's (the last)
            await self.control.save_conference_track(
                room.conference, call_id, track.agent_id, wav_of(bytes(track.pcm)),
                track.duration_s, track.offset_s)
        if room.recording is not None:
            duration = len(room.recording) / 2 / RECORDING_RATE
            await self.control.save_conference_recording(room.conference, room.wav(), duration)
        await self.control.end_conference(conference_id, reason)
        self.rooms.pop(conference_id, None)

    # -- the conference's actions ------------------------------------------------------------

    async def dial(self, conference_id: str, to: str, from_: str | None, *, moderator: bool,
                   muted: bool) -> None:
        """Dial ``to`` for the room (from one of its legs' numbers) and join the answer."""
        room = self.room(conference_id)
        if not room.legs:  # emptied meanwhile: the conference is ending
            return
        parent = next(iter(room.legs.values()))
        dialed = await self.dial_leg(parent, to, from_)
        if dialed.live is None:
            log.info("conference %s: dial to %s ended (%s)", conference_id, to,
                     dialed.ending.reason if dialed.ending else None)
            return
        try:
            await self.join(dialed.live, conference_id, moderator=moderator, muted=muted)
        except JoinRefused as exc:  # ended or full meanwhile: the leg has nothing to join
            log.info("conference %s: dialled leg refused (%s)", conference_id, exc.code)
            await dialed.live.hangup(exc.code)

    async def seat(self, conference_id: str, agent_id: str, *, moderator: bool,
                   muted: bool) -> None:
        """Seat the app's agent ``agent_id`` in the room (``conference_agent.py``)."""
        room = self.room(conference_id)
        if not room.legs or self.seating is None:
            return
        seated = await self.seating.take(next(iter(room.legs.values())), agent_id)
        if seated is None:
            return
        try:
            await self.join(seated.live, conference_id, moderator=moderator, muted=muted,
                            mix_as=seated.room_side)
        except JoinRefused as exc:
            log.info("conference %s: agent %s refused (%s)", conference_id, agent_id, exc.code)
            await self.seating.refuse(seated, exc.code)
            return
        await self.seating.start(seated)

    async def act(self, conference_id: str, action: str, call_id: str | None,
                  music_url: str | None = None) -> None:
        """mute, unmute, hold, unhold, kick (a participant) or end (the conference)."""
        room = self.room(conference_id)
        if action == "end":
            self._spawn(self.end(room, "ended_by_api"))
            return
        live = room.legs.get(call_id or "")
        if live is None or call_id is None:
            raise JoinRefused(409, "participant_left", "the call is not in the room")
        if action in ("mute", "unmute"):
            room.media.mute(call_id, action == "mute")
            await self.control.set_conference_flag(conference_id, call_id, "muted",
                                                   action == "mute")
        elif action in ("hold", "unhold"):
            held = action == "hold"
            room.media.hold(call_id, held)
            self._stop_music(room, live)
            if held and music_url:
                room.hold_music[call_id] = live.spawn(self._music(live, music_url))
            await self.control.set_conference_flag(conference_id, call_id, "held", held)
        elif action == "kick":
            await self.leave(room, call_id, "kicked")
            await live.hangup("conference_kicked")
        else:
            raise JoinRefused(404, "unknown_action", f"unknown action {action!r}")

    async def _music(self, live: LiveCall, url: str) -> None:
        """Hold music: the file again and again (playback wins over the mix on that leg)."""
        try:
            pcm = await audio.load(url, live.transport.sample_rate, objects=live.control)
        except Exception as exc:
            log.warning("hold music %s for %s unreadable: %s", url, live.call_id, exc)
            return
        while not live.finished:
            await live.transport.play(pcm)

    def _stop_music(self, room: Room, live: LiveCall) -> None:
        task = room.hold_music.pop(live.call_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(Exception):  # a transport already closed
                live.transport.stop_playback()

    async def close(self) -> None:
        """The node stops: every room ends (its legs are hung up by the shutdown anyway)."""
        for room in list(self.rooms.values()):
            await self.end(room, "media_node_shutdown")
