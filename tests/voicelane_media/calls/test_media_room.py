"""A room of real RTP legs on loopback UDP: what each caller says reaches the others through the
mix, never itself; leaving, muting and holding take effect on the next frames."""

from __future__ import annotations

import asyncio

import numpy as np
from voicelane_media.calls.bridge import MediaRoom, bridge
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.base import AudioTap, LiveSource
from voicelane_media.transports.sip.rtp import RtpPortPool, RtpSession

from tests.voicelane_media.helpers import connected_pair, tone


class SessionLeg:
    """A platform-side RTP session seen as a room's leg (what ``SipLeg`` delegates to)."""

    sample_rate = 8000

    def __init__(self, session: RtpSession) -> None:
        self.session = session

    def add_audio_tap(self, tap: AudioTap) -> None:
        self.session.add_audio_tap(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        self.session.remove_audio_tap(tap)

    def set_live_source(self, source: LiveSource | None) -> None:
        self.session.set_live_source(source)


def energy_at(pcm: Int16Array, freq: float) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    bins = np.fft.rfftfreq(len(pcm), 1 / 8000)
    return float(spectrum[np.abs(bins - freq) < 25].max())


async def callers(pool: RtpPortPool, count: int) -> tuple[list[SessionLeg], list[RtpSession],
                                                          list[list[Int16Array]]]:
    legs, phones, heard = [], [], []
    for _ in range(count):
        platform, phone = await connected_pair(pool, 0, jitter_buffer_ms=40)
        frames: list[Int16Array] = []
        phone.on_audio = frames.append
        legs.append(SessionLeg(platform))
        phones.append(phone)
        heard.append(frames)
    return legs, phones, heard


def heard_since(frames: list[Int16Array], start: int) -> Int16Array:
    return np.concatenate(frames[start:]) if len(frames) > start else np.zeros(160, np.int16)


async def test_three_callers_hear_each_other_and_not_themselves(pool: RtpPortPool) -> None:
    legs, phones, heard = await callers(pool, 3)
    room = MediaRoom()
    for index, leg in enumerate(legs):
        room.join(index, leg)
    marks = [len(frames) for frames in heard]
    await asyncio.gather(phones[0].play(tone(400, 0.6)), phones[1].play(tone(1000, 0.6)))
    await asyncio.sleep(0.1)
    got = [heard_since(frames, mark) for frames, mark in zip(heard, marks, strict=True)]
    floor = 1e5  # a tone heard; its own voice must be 40 dB under what it hears of the other
    assert energy_at(got[0], 1000) > floor and energy_at(got[0], 400) < energy_at(got[0], 1000) / 100
    assert energy_at(got[1], 400) > floor and energy_at(got[1], 1000) < energy_at(got[1], 400) / 100
    assert energy_at(got[2], 400) > floor and energy_at(got[2], 1000) > floor
    stats = room.stats()
    assert stats["ticks"] >= 25
    assert all(p["frames_in"] >= 25 for p in stats["participants"].values())

    room.mute(0, True)  # the others stop hearing caller 0 at once
    room.leave(1)  # caller 1 leaves: it hears silence again, the others keep going
    await asyncio.sleep(0.2)  # what was already in the jitter buffers and the mix plays out
    marks = [len(frames) for frames in heard]
    await asyncio.gather(phones[0].play(tone(400, 0.4)), phones[1].play(tone(1000, 0.4)))
    await asyncio.sleep(0.1)
    got = [heard_since(frames, mark) for frames, mark in zip(heard, marks, strict=True)]
    assert energy_at(got[2], 400) < floor / 50 and energy_at(got[2], 1000) < floor / 50
    assert energy_at(got[1], 400) < floor / 50
    await room.close()
    for session in [leg.session for leg in legs] + phones:
        await session.close()


async def test_a_two_party_bridge_relays_both_ways_and_playback_wins(pool: RtpPortPool) -> None:
    legs, phones, heard = await callers(pool, 2)
    room = bridge(legs[0], legs[1])
    marks = [len(frames) for frames in heard]
    await phones[0].play(tone(700, 0.4))
    await asyncio.sleep(0.1)
    assert energy_at(heard_since(heard[1], marks[1]), 700) > 1e5
    # a prompt played on leg 1 replaces the mix on that leg only (hold music, a whisper)
    marks = [len(frames) for frames in heard]
    prompt = asyncio.ensure_future(legs[1].session.play(tone(300, 0.9)))
    await asyncio.sleep(0.1)
    await phones[0].play(tone(700, 0.3))  # said, mixed and pulled well inside the prompt
    await prompt
    await asyncio.sleep(0.05)
    got = heard_since(heard[1], marks[1])
    assert energy_at(got, 300) > 1e5 and energy_at(got, 700) < energy_at(got, 300) / 20
    await room.close()
    assert not room.keys
    for session in [leg.session for leg in legs] + phones:
        await session.close()
