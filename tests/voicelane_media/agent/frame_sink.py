"""A processor at the end of a test pipeline that keeps the synthesised audio it is given."""

from __future__ import annotations

from voicelane_media.agent.frames import Direction, Frame, TTSAudio
from voicelane_media.agent.pipeline import Processor


class Keep(Processor):
    """Keeps every `TTSAudio` frame (in `audio`); drops everything else."""

    def __init__(self) -> None:
        super().__init__()
        self.audio: list[TTSAudio] = []

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, TTSAudio):
            self.audio.append(frame)
