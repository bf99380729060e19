"""The background-voice gate in front of silero: other people talking behind the caller neither
open speech segments nor hold the caller's turn open; a quiet caller still gets every turn.

Real parts: silero VAD, espeak-ng speech (the caller) and the eval's babble bed (four espeak-ng
talkers over each other), at the phone's 8 kHz through G.711. Frames are pushed as fast as the
VAD takes them (their `at` is the audio's own clock), so a 15 s call takes well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pytest
from voicelane.domain.agent import AgentSpec
from voicelane_local.evals.audio import babble
from voicelane_media.agent.frames import AudioIn, Direction, Frame, VADStart, VADStop
from voicelane_media.agent.listen import VADProcessor
from voicelane_media.agent.local_engines import SileroVAD
from voicelane_media.agent.pipeline import Pipeline, Processor
from voicelane_media.agent.settings import LoopSettings, for_agent
from voicelane_media.agent.voice_gate import VoiceGate
from voicelane_media.codecs.g711 import Int16Array, pcm_from_pcmu, pcmu_from_pcm
from voicelane_media.sim.voice import RATE, speech_bounds, synthesize_8k

FRAME = RATE // 50  # 20 ms
LINES = ("I would like to book an appointment on Monday please.", "No thank you. Goodbye.")


@dataclass
class Segment:
    start: float
    end: float | None = None


@dataclass
class Segments(Processor):
    """Records the VAD's segments (speech onset .. last speech, audio-clock seconds)."""

    found: list[Segment] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, VADStart):
            self.found.append(Segment(frame.speech_at))
        elif isinstance(frame, VADStop):
            self.found[-1].end = frame.speech_end_at


@pytest.fixture(scope="module")
def lines() -> list[Int16Array]:
    import asyncio

    async def speak() -> list[Int16Array]:
        return [await synthesize_8k(text, engine="espeak") for text in LINES]

    return asyncio.run(speak())


def at_level(voice: Int16Array, dbfs: float) -> Int16Array:
    """The line scaled to `dbfs` RMS over its voiced part."""
    start, end = (int(s * RATE) for s in speech_bounds(voice))
    rms = float(np.sqrt(np.mean((voice[start:end].astype(np.float64) / 32768) ** 2)))
    out: Int16Array = np.clip(voice * (10 ** (dbfs / 20) / rms), -32768, 32767).astype(np.int16)
    return out


def call(lines: list[Int16Array], voice_dbfs: float, gap_s: float, background: Int16Array
         ) -> tuple[Int16Array, list[tuple[float, float]]]:
    """`gap_s` of background, then each line followed by `gap_s`, the background throughout;
    with each line's voice bounds (seconds from the start)."""
    parts, spans, at = [np.zeros(int(gap_s * RATE), np.int16)], [], gap_s
    for line in lines:
        onset, offset = speech_bounds(line)
        spans.append((at + onset, at + offset))
        parts += [at_level(line, voice_dbfs), np.zeros(int(gap_s * RATE), np.int16)]
        at += line.size / RATE + gap_s
    clean = np.concatenate(parts)
    bed = np.resize(background, clean.size)
    mixed = np.clip(clean.astype(np.int32) + bed, -32768, 32767).astype(np.int16)
    return pcm_from_pcmu(pcmu_from_pcm(mixed)), spans  # the phone line's G.711


async def segments(audio: Int16Array, settings: LoopSettings) -> list[Segment]:
    found = Segments()
    pipeline = Pipeline([VADProcessor(SileroVAD(), settings), found])
    for index in range(audio.size // FRAME):
        pcm = audio[index * FRAME:(index + 1) * FRAME].astype("<i2").tobytes()
        await pipeline.push(AudioIn(pcm=pcm, sample_rate=RATE, at=(index + 1) * FRAME / RATE))
    await pipeline.close()
    return found.found


def white(dbfs: float) -> Int16Array:
    noise = np.random.default_rng(5).normal(0.0, 32767 * 10 ** (dbfs / 20), RATE * 12)
    out: Int16Array = np.clip(noise, -32768, 32767).astype(np.int16)
    return out


def assert_turns(found: list[Segment], spans: list[tuple[float, float]], settings: LoopSettings
                 ) -> None:
    """Every segment belongs to a caller line; each line's speech is heard from its onset to
    its end, with no silence inside it long enough to end the turn."""
    for segment in found:
        assert any(onset - 0.3 <= (segment.end or 1e9) and segment.start <= offset + 0.3
                   for onset, offset in spans), f"a segment outside the caller's lines: {segment}"
    for onset, offset in spans:
        mine = [s for s in found if s.end is not None and onset - 0.3 <= s.end
                and s.start <= offset + 0.3]
        assert mine, f"the line at {onset:.2f}-{offset:.2f} s was not heard"
        assert mine[0].start <= onset + 0.2
        assert abs(max(s.end or 0.0 for s in mine) - offset) <= 0.3
        gaps = [b.start - a.end for a, b in pairwise(mine) if a.end]
        assert max(gaps, default=0.0) < settings.endpointing_ms / 1000, gaps


@pytest.mark.parametrize("babble_dbfs", [-45.0, -38.0])
async def test_babble_behind_the_caller_opens_no_segment_and_ends_with_the_caller(
        lines, babble_dbfs):
    audio, spans = call(lines, voice_dbfs=-20.0, gap_s=3.0, background=babble(babble_dbfs, 100))
    settings = LoopSettings()
    found = await segments(audio, settings)
    assert_turns(found, spans, settings)


async def test_without_the_gate_babble_reads_as_the_caller(lines):
    """What the gate fixes (and what `background_voice_gate: false` brings back)."""
    audio, spans = call(lines, voice_dbfs=-20.0, gap_s=3.0, background=babble(-45.0, 100))
    off = for_agent(AgentSpec(background_voice_gate=False), LoopSettings())
    found = await segments(audio, off)
    first_onset = spans[0][0]
    assert any(s.start < first_onset - 0.5 for s in found)  # babble alone opened a segment


@pytest.mark.parametrize("background", ["quiet", "white"])
@pytest.mark.parametrize("gap_s", [0.3, 2.0])  # 0.3: the caller speaks first
async def test_a_quiet_caller_still_gets_its_turns(lines, background, gap_s):
    noise = white(-70.0) if background == "quiet" else white(-50.0)
    audio, spans = call(lines, voice_dbfs=-35.0, gap_s=gap_s, background=noise)
    settings = LoopSettings()
    found = await segments(audio, settings)
    assert_turns(found, spans, settings)


def test_a_background_that_grows_louder_cannot_hold_a_segment_open():
    """Learned near the caller too (every third frame): voices 15 dB louder all at once are
    first taken for the caller, then, within seconds, for the new room."""
    gate = VoiceGate()
    quiet, loud = white(-60.0), white(-45.0)
    room = [gate.admit(quiet[index * FRAME:(index + 1) * FRAME].tobytes(), voiced=False)
            for index in range(150)]  # 3 s of a quiet room the VAD takes for no one
    assert not any(room)
    admitted = [gate.admit(loud[index * FRAME:(index + 1) * FRAME].tobytes(), voiced=True)
                for index in range(500)]  # the room gets loud, and the VAD says "speech"
    assert all(admitted[5:50])  # at first it is louder than the room was
    assert not any(admitted[-100:])  # then it is the room
    assert gate.background_db is not None and gate.background_db == pytest.approx(-45.0, abs=1.5)


def test_over_white_noise_the_gate_changes_nothing():
    """A background the VAD does not take for speech leaves the bar under it."""
    gate = VoiceGate()
    noise = white(-45.0)
    for index in range(300):
        gate.admit(noise[index * FRAME:(index + 1) * FRAME].tobytes(), voiced=index % 50 == 0)
    assert gate.background_db is not None and gate.threshold_db < gate.background_db


def test_the_gate_is_on_unless_the_settings_turn_it_off():
    # (the agent's choice over the node's: test_agent_timing.py)
    assert LoopSettings().background_voice_gate is True
    assert VADProcessor(SileroVAD(), LoopSettings(background_voice_gate=False)).gate is None
