"""The end of the caller's speech is the end of their voice, not of silero's tail past it.

silero goes on calling speech for 100-150 ms after a line's voice has faded; the endpointer's
silence window counts from `VADStop.speech_end_at`, so that tail was added to every reply.
"""

from __future__ import annotations

import numpy as np
import pytest
from voicelane_media.agent.frames import AudioIn, Direction, Frame, VADStart, VADStop
from voicelane_media.agent.listen import VADProcessor
from voicelane_media.agent.local_engines import SileroVAD
from voicelane_media.agent.pipeline import Pipeline, Processor
from voicelane_media.agent.settings import LoopSettings
from voicelane_media.codecs.g711 import Int16Array, pcm_from_pcmu, pcmu_from_pcm
from voicelane_media.sim.voice import RATE, speech_bounds, synthesize_8k

FRAME = RATE // 50
LINES = ("What are your opening hours?", "No that is all. Thank you goodbye.",
         "I would like to book an appointment on Monday please.")


class Ends(Processor):
    """Keeps each segment's speech end, and the audio time its VADStop came (`stops`)."""

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []
        self.stops: list[float] = []
        self.starts = 0
        self.now = 0.0

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, AudioIn):
            self.now = frame.at
        elif isinstance(frame, VADStart):
            self.starts += 1
        elif isinstance(frame, VADStop):
            self.ends.append(frame.speech_end_at)
            self.stops.append(self.now)


async def _lag_ms(voice: Int16Array, floor_dbfs: float) -> tuple[float, float]:
    """VADStop's speech end, and when it came, minus the voice's end (-42 dBFS), over a G.711
    line; one segment per line."""
    line = np.concatenate([np.zeros(RATE // 2, np.int16), voice, np.zeros(RATE, np.int16)])
    line = pcm_from_pcmu(pcmu_from_pcm(line))
    offset = RATE // 2 / RATE + speech_bounds(voice)[1]
    ends = Ends()
    pipeline = Pipeline([VADProcessor(SileroVAD(), LoopSettings(
        speech_end_floor_dbfs=floor_dbfs)), ends])
    for index in range(line.size // FRAME):
        pcm = line[index * FRAME:(index + 1) * FRAME].astype("<i2").tobytes()
        await pipeline.push(AudioIn(pcm=pcm, sample_rate=RATE, at=(index + 1) * FRAME / RATE))
    await pipeline.close()
    assert ends.starts == len(ends.stops) and ends.stops
    return (max(ends.ends) - offset) * 1000.0, (max(ends.stops) - offset) * 1000.0


@pytest.mark.parametrize("text", LINES)
async def test_speech_ends_where_the_voice_ends(text):
    voice = await synthesize_8k(text)
    at_voice, stop_at = await _lag_ms(voice, -50.0)
    silero_tail, silero_stop = await _lag_ms(voice, -100.0)  # the floor off: silero's own
    assert -20.0 <= at_voice <= 100.0  # its last frames at -42 to -50 dBFS count as voice
    assert silero_tail - at_voice >= 40.0
    # The segment itself still closes on silero's silence (one segment per line).
    assert stop_at == silero_stop
