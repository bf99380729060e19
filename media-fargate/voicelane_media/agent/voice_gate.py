"""Background-voice gate: caller speech must stand out of a background that sounds like voices.

silero VAD answers "is this a voice?", not "is this the caller?": other people talking behind
the caller (an office, a cafe, a car radio) read as speech, so without a gate their babble
pauses the agent as a false interruption and holds the caller's turn open after they stop.
The caller is nearer the microphone than the room, so their speech is louder than the
background they talk over. The gate admits a frame the VAD calls speech only when it is loud
enough over the background it has learned:

    level      = RMS of the last `smooth_ms` of audio (dBFS); smoothing keeps a word's quiet
                 consonants inside the word, as Pipecat's volume smoothing does
    caller     = a voiced frame at least `margin_db` over the background; the `hold_ms` after
                 one are "near the caller"
    background = the `percentile` of the levels of the last `window_ms` (near the caller only
                 every `speech_stride`-th frame counts, so the caller's turn barely moves it,
                 while voices that grow louder all at once are learned within seconds and
                 cannot hold a turn open for ever)
    voiced     = the share of the background's frames away from the caller that the VAD
                 called speech: most of them for babble, a few for white noise or a quiet line
    threshold  = max(floor_dbfs, background + over): `over` goes linearly from -UNDER_DB (under
                 the background) at voiced = 0 to +margin_db at voiced >= `voiced_share`

So the margin applies in full only where the background itself fools the VAD; over white
noise or a quiet line the bar sits under the background and the VAD's decision stands, so a
quiet caller (-35 dBFS) keeps every turn. `floor_dbfs` is an absolute floor like Pipecat's
`VADParams.min_volume` (about -50 LUFS); it is the background until `learn_ms` of it has
been heard, and until the room has been heard away from the caller the margin applies in
full (speech from the call's first frame is the caller; voices there are soon the room).
Pure and synchronous:

    gate = VoiceGate()
    is_speech = gate.admit(pcm, voiced=silero_says_speech)
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

FRAME_MS = 20.0
# Where the bar sits over a background the VAD never takes for speech: under it, so that the
# gate changes nothing there (speech over white noise is at least as loud as the noise).
UNDER_DB = 6.0


class VoiceGate:
    """Per-call level gate on the VAD decision (see the module docstring)."""

    def __init__(
        self,
        margin_db: float = 8.0,
        floor_dbfs: float = -60.0,
        percentile: float = 30.0,
        voiced_share: float = 0.1,
        window_ms: int = 3000,
        smooth_ms: int = 100,
        learn_ms: int = 100,
        speech_stride: int = 3,
        hold_ms: int = 500,
    ) -> None:
        self.margin_db = margin_db
        self.floor_dbfs = floor_dbfs
        self.percentile = percentile
        self.voiced_share = voiced_share
        frames = max(1, round(window_ms / FRAME_MS))
        self._powers: deque[float] = deque(maxlen=max(1, round(smooth_ms / FRAME_MS)))
        self._levels: deque[float] = deque(maxlen=frames)
        self._voiced: deque[bool] = deque(maxlen=frames)  # away from the caller only
        self._learn_frames = max(1, round(learn_ms / FRAME_MS))
        self._stride = max(1, speech_stride)
        self._caller_frames = 0
        self._hold_frames = max(0, round(hold_ms / FRAME_MS))
        self._since_caller = self._hold_frames + 1  # frames since one clearly over the room
        self.level_db = -120.0
        self.background_db: float | None = None  # None until `learn_ms` of levels were learned
        self.gated = 0  # frames the VAD called speech that the gate refused

    @property
    def voiced_fraction(self) -> float:
        """The share of recent background frames (outside segments) the VAD called speech."""
        return sum(self._voiced) / len(self._voiced) if self._voiced else 0.0

    @property
    def threshold_db(self) -> float:
        """The level a frame needs now (dBFS, smoothed)."""
        if self.background_db is None:  # the call's first frames: nothing known but the floor
            return self.floor_dbfs
        if len(self._voiced) < self._learn_frames:  # no room heard yet: assume it is voices
            weight = 1.0
        else:
            weight = min(1.0, self.voiced_fraction / self.voiced_share) if self.voiced_share \
                else 1.0
        over = -UNDER_DB + (self.margin_db + UNDER_DB) * weight
        return max(self.floor_dbfs, self.background_db + over)

    def admit(self, pcm: bytes, voiced: bool) -> bool:
        """Whether this frame is caller speech: `voiced` (the VAD's verdict) and loud enough."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
        self._powers.append(float(np.mean(samples * samples)) if samples.size else 0.0)
        self.level_db = 10.0 * math.log10(max(sum(self._powers) / len(self._powers), 1e-12))
        room = self.floor_dbfs if self.background_db is None else self.background_db
        if voiced and self.level_db >= room + self.margin_db:
            self._since_caller = 0  # clearly over the room: the caller (or the room got louder)
        else:
            self._since_caller += 1
        near_caller = self._since_caller <= self._hold_frames
        if not near_caller:
            self._voiced.append(voiced)  # before judging: a voiced room raises the bar at once
        loud = self.level_db >= self.threshold_db
        self._learn(near_caller)
        if voiced and not loud:
            self.gated += 1
        return voiced and loud

    def _learn(self, near_caller: bool) -> None:
        if near_caller:
            self._caller_frames += 1
            if self._caller_frames % self._stride:
                return
        self._levels.append(self.level_db)
        if len(self._levels) >= self._learn_frames:
            self.background_db = float(np.percentile(self._levels, self.percentile))
