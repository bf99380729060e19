"""Background-voice gate: caller speech must stand out of the line's own background level.

silero VAD answers "is this a voice?", not "is this the caller?": other people talking behind
the caller (an office, a cafe, a car radio) read as speech, so without a gate their babble
pauses the agent as a false interruption and holds the caller's turn open after they stop.
The caller is nearer the microphone than the room, so their speech is louder than the
background they talk over; the gate admits a frame only when its level is high enough:

    level     = RMS of the last `smooth_ms` of audio (dBFS); smoothing keeps a word's quiet
                consonants inside the word, as Pipecat's volume smoothing does
    threshold = max(floor_dbfs, background + margin_db)
    background= the `percentile` of the levels of the last `window_ms`, learned from frames
                outside the caller's speech segments (inside them only every `speech_stride`-th
                frame counts, so a background that grows louder mid-segment is still learned
                and cannot hold a segment open for ever, while the caller's own turn barely
                moves it)

On a quiet line the background is far below any voice and only `floor_dbfs` applies (a
floor like Pipecat's `VADParams.min_volume`, which is about -50 LUFS): a quiet caller, at
-35 dBFS, still passes. The gate is pure and synchronous; `VADProcessor` asks it per frame.

    gate = VoiceGate()
    heard = vad_says_speech and gate.admit(pcm, speaking=in_segment)
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

FRAME_MS = 20.0


class VoiceGate:
    """Per-call level gate in front of the VAD decision (see the module docstring)."""

    def __init__(
        self,
        margin_db: float = 8.0,
        floor_dbfs: float = -60.0,
        percentile: float = 30.0,
        window_ms: int = 3000,
        smooth_ms: int = 100,
        learn_ms: int = 100,
        speech_stride: int = 3,
    ) -> None:
        self.margin_db = margin_db
        self.floor_dbfs = floor_dbfs
        self.percentile = percentile
        self._powers: deque[float] = deque(maxlen=max(1, round(smooth_ms / FRAME_MS)))
        self._history: deque[float] = deque(maxlen=max(1, round(window_ms / FRAME_MS)))
        self._learn_frames = max(1, round(learn_ms / FRAME_MS))
        self._stride = max(1, speech_stride)
        self._speech_frames = 0
        self.level_db = -120.0
        self.background_db: float | None = None  # None until `learn_ms` of audio was heard
        self.gated = 0  # frames refused (the VAD may still have called them speech)

    @property
    def threshold_db(self) -> float:
        """The level a frame needs now (dBFS, smoothed): nothing passes before the background
        is known (the call's first `learn_ms`), so a room heard at answer opens no segment."""
        if self.background_db is None:
            return math.inf
        return max(self.floor_dbfs, self.background_db + self.margin_db)

    def admit(self, pcm: bytes, speaking: bool) -> bool:
        """Whether this frame is loud enough to be the caller; `speaking`: inside a segment."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
        self._powers.append(float(np.mean(samples * samples)) if samples.size else 0.0)
        self.level_db = 10.0 * math.log10(max(sum(self._powers) / len(self._powers), 1e-12))
        passed = self.level_db >= self.threshold_db  # judged on what was learned before it
        self._learn(speaking)
        if not passed:
            self.gated += 1
        return passed

    def _learn(self, speaking: bool) -> None:
        if speaking:
            self._speech_frames += 1
            if self._speech_frames % self._stride:
                return
        self._history.append(self.level_db)
        if len(self._history) >= self._learn_frames:
            self.background_db = float(np.percentile(self._history, self.percentile))
