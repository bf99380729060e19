"""An agent's seat (``transports/seat.py``) in a real :class:`MediaRoom` with a paced 8 kHz
leg beside it: the leg hears what the seat plays, the seat hears the leg and never itself,
and muting the seat silences it for the room. (The end-to-end proof with sipp and the local
engines is ``tests/interop/test_sipp_conference.py``.)"""

from __future__ import annotations

import asyncio

import numpy as np
from voicelane_media.calls.bridge import MediaRoom
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.base import AudioTap, LiveSource
from voicelane_media.transports.seat import RoomSeat

PHONE_HZ, AGENT_HZ = 500.0, 1000.0


def _tone(hz: float, rate: int, seconds: float) -> Int16Array:
    t = np.arange(int(rate * seconds)) / rate
    return (6000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def _level(samples: list[Int16Array], rate: int, hz: float) -> float:
    x = np.concatenate(samples).astype(np.float64) if samples else np.zeros(rate)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[0])))
    freqs = np.fft.rfftfreq(x.shape[0], 1 / rate)
    scale = 2.0 / max(1.0, float(np.sum(np.hanning(x.shape[0]))))
    return float(spectrum[(freqs > hz - 15) & (freqs < hz + 15)].max()) * scale


class PacedPhone:
    """A leg on its own 20 ms clock: says a steady tone, keeps what the room sends it."""

    sample_rate = 8000

    def __init__(self) -> None:
        self.taps: list[AudioTap] = []
        self.source: LiveSource | None = None
        self.heard: list[Int16Array] = []
        self._tone = _tone(PHONE_HZ, 8000, 1.0)

    def add_audio_tap(self, tap: AudioTap) -> None:
        self.taps.append(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        self.taps.remove(tap)

    def set_live_source(self, source: LiveSource | None) -> None:
        self.source = source

    async def run(self) -> None:
        i = 0
        while True:
            frame = self._tone[(i % 50) * 160:(i % 50 + 1) * 160]
            for tap in list(self.taps):
                tap(frame)
            heard = self.source() if self.source is not None else None
            self.heard.append(heard if heard is not None else np.zeros(160, dtype=np.int16))
            i += 1
            await asyncio.sleep(0.02)


def test_a_seat_hears_the_room_but_not_itself_and_the_room_hears_it_until_muted() -> None:
    async def run() -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        room, seat, phone = MediaRoom(), RoomSeat(), PacedPhone()
        agent_heard: list[Int16Array] = []
        seat.add_audio_tap(lambda frame: agent_heard.append(frame.copy()))
        assert await seat.dial() is None and seat.connected
        room.join("seat", seat.room_side)
        room.join("phone", phone)
        clock = asyncio.ensure_future(phone.run())
        try:
            playing = asyncio.ensure_future(seat.play(_tone(AGENT_HZ, seat.sample_rate, 3.0)))
            await asyncio.sleep(1.0)
            phone.heard.clear()
            agent_heard.clear()
            await asyncio.sleep(0.8)
            unmuted = {"phone hears agent": _level(phone.heard, 8000, AGENT_HZ),
                       "phone hears itself": _level(phone.heard, 8000, PHONE_HZ)}
            agent = {"agent hears phone": _level(agent_heard, 16000, PHONE_HZ),
                     "agent hears itself": _level(agent_heard, 16000, AGENT_HZ)}
            room.mute("seat", True)
            await asyncio.sleep(0.2)
            phone.heard.clear()
            await asyncio.sleep(0.6)
            muted = {"phone hears agent": _level(phone.heard, 8000, AGENT_HZ)}
            seat.stop_playback()
            await playing
        finally:
            clock.cancel()
            await room.close()
            await seat.close()
        return unmuted, agent, muted

    unmuted, agent, muted = asyncio.run(run())
    assert unmuted["phone hears agent"] > 1000 and unmuted["phone hears itself"] < 60, unmuted
    assert agent["agent hears phone"] > 1000 and agent["agent hears itself"] < 60, agent
    assert muted["phone hears agent"] < 60, muted
