"""What the network plays before an outbound call is answered (pure, numpy, no asyncio): the
audio of a 183 Session Progress, classified as ringback, an announcement, special information
tones, or silence.

- **Ringback** is a steady dual (or single) tone in cadence: 440+480 Hz (North America),
  400+450 Hz (UK, Australia), 425 Hz (most of Europe), 450 Hz, 480+620 Hz is busy, not ringback.
- **Special information tones** (SIT, ITU-T E.180 / Telcordia) precede the network's intercept
  announcements ("the number you have dialled is not in service"): three single tones rising
  in ~900-1000 Hz, ~1350-1450 Hz and ~1750-1800 Hz, each 270-380 ms. Hearing them means the
  number cannot be reached, so the call may end now instead of at a timeout.
- An **announcement** is speech: energy spread over the voice band, no dominant tone.
- **Silence**: nothing above line noise.

Each 20 ms frame is judged over the last 100 ms (a Hann-windowed FFT, 10 Hz bins: fine enough
to part 440 from 480 Hz, which the beep and fax detectors' 40 ms windows cannot).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from voicelane_media.codecs.g711 import Int16Array

WINDOW_MS = 100
FRAME_MS = 20
MIN_LEVEL_DBFS = -45.0
TONE_SHARE = 0.75  # of the window's energy within +-2 bins of its one or two peaks
RINGBACK_HZ: tuple[tuple[float, ...], ...] = ((440.0, 480.0), (400.0, 450.0), (425.0,), (450.0,))
RINGBACK_TOLERANCE_HZ = 20.0
SIT_BANDS_HZ = ((880.0, 1010.0), (1340.0, 1450.0), (1740.0, 1810.0))
SIT_TONE_MS = (120, 400)  # each segment's frames whose whole window is that tone (274-380 ms)
DECIDE_AFTER_MS = 2000  # of early media before a ringback/announcement/silence verdict
SPEECH_SHARE = 0.4  # of the voiced frames, for an announcement
RINGBACK_SHARE = 0.6  # of the voiced frames, for ringback


class EarlyMediaKind(StrEnum):
    RINGBACK = "ringback"
    ANNOUNCEMENT = "announcement"
    SPECIAL_INFORMATION_TONE = "special_information_tone"
    SILENCE = "silence"


@dataclass(frozen=True)
class EarlyMedia:
    """The verdict on the early media heard so far."""

    kind: EarlyMediaKind
    decided_ms: int  # ms of early media it took
    voiced_ms: int
    speech_ms: int
    ringback_ms: int

    @property
    def unreachable(self) -> bool:
        """The network says the number cannot be reached (SIT)."""
        return self.kind == EarlyMediaKind.SPECIAL_INFORMATION_TONE

    def details(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "decided_ms": self.decided_ms,
                "voiced_ms": self.voiced_ms, "speech_ms": self.speech_ms,
                "ringback_ms": self.ringback_ms}


@functools.cache
def _hann(size: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.hanning(size)


def tone_peaks(window: Int16Array, sample_rate: int) -> tuple[float, ...] | None:
    """The one or two frequencies (Hz, ascending) of a window that is a pure or dual tone;
    ``()`` for quiet; None for anything else (speech, noise)."""
    samples = window.astype(np.float64) / 32768.0
    power = float(np.mean(samples * samples)) if samples.size else 0.0
    if power <= 0 or 10 * np.log10(power) < MIN_LEVEL_DBFS:
        return ()
    spectrum = np.abs(np.fft.rfft(samples * _hann(samples.size))) ** 2
    spectrum[0] = 0.0
    total = float(spectrum.sum())
    first = int(np.argmax(spectrum))
    near_first = float(spectrum[max(first - 2, 0):first + 3].sum())
    masked = spectrum.copy()
    masked[max(first - 3, 0):first + 4] = 0.0
    second = int(np.argmax(masked))
    near_second = float(spectrum[max(second - 2, 0):second + 3].sum())
    bin_hz = sample_rate / samples.size
    if near_first / total >= TONE_SHARE:
        return (first * bin_hz,)
    if (near_first + near_second) / total >= TONE_SHARE and near_second >= 0.1 * near_first:
        return tuple(sorted((first * bin_hz, second * bin_hz)))
    return None


def is_ringback(peaks: tuple[float, ...]) -> bool:
    return any(len(peaks) == len(pair) and all(
        abs(f - g) <= RINGBACK_TOLERANCE_HZ for f, g in zip(peaks, pair, strict=True))
        for pair in RINGBACK_HZ)


def sit_segment(peaks: tuple[float, ...]) -> int | None:
    """Which of the three SIT segments (0, 1, 2) a single tone belongs to, if any."""
    if len(peaks) != 1:
        return None
    for index, (low, high) in enumerate(SIT_BANDS_HZ):
        if low <= peaks[0] <= high:
            return index
    return None


class EarlyMediaClassifier:
    """Feed the early media's 20 ms frames; :attr:`result` once it is decided (a SIT at once,
    anything else after :data:`DECIDE_AFTER_MS`). :meth:`verdict` gives the best guess so far
    (e.g. when the call is answered or fails before that)."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._window = np.zeros(sample_rate * WINDOW_MS // 1000, dtype=np.int16)
        self.elapsed_ms = 0
        self.voiced_ms = 0
        self.speech_ms = 0
        self.ringback_ms = 0
        self.result: EarlyMedia | None = None
        self._segment: int | None = None  # the SIT segment being heard, and for how long
        self._segment_ms = 0
        self._sit_seen: list[int] = []  # segments completed, in order

    def feed(self, frame: Int16Array) -> EarlyMedia | None:
        """Take one frame; the verdict when this frame decided it (else None)."""
        if self.result is not None:
            return None
        size = self._window.size
        self._window = np.concatenate([self._window, frame])[-size:]
        self.elapsed_ms += FRAME_MS
        peaks = tone_peaks(self._window, self.sample_rate)
        if peaks != ():
            self.voiced_ms += FRAME_MS
        if peaks is None:
            self.speech_ms += FRAME_MS
        elif peaks and is_ringback(peaks):
            self.ringback_ms += FRAME_MS
        if self._track_sit(sit_segment(peaks) if peaks else None):
            self.result = self._verdict(EarlyMediaKind.SPECIAL_INFORMATION_TONE)
            return self.result
        if self.elapsed_ms >= DECIDE_AFTER_MS:
            self.result = self.verdict()
            return self.result
        return None

    def verdict(self) -> EarlyMedia:
        """The kind the frames so far point to."""
        if self.result is not None:
            return self.result
        voiced = self.voiced_ms
        if voiced < 200:
            kind = EarlyMediaKind.SILENCE
        elif self.ringback_ms >= RINGBACK_SHARE * voiced:
            kind = EarlyMediaKind.RINGBACK
        elif self.speech_ms >= SPEECH_SHARE * voiced:
            kind = EarlyMediaKind.ANNOUNCEMENT
        else:
            kind = EarlyMediaKind.RINGBACK if self.ringback_ms else EarlyMediaKind.SILENCE
        return self._verdict(kind)

    def _verdict(self, kind: EarlyMediaKind) -> EarlyMedia:
        return EarlyMedia(kind, self.elapsed_ms, self.voiced_ms, self.speech_ms,
                          self.ringback_ms)

    def _track_sit(self, segment: int | None) -> bool:
        """Follow SIT segments; True once the three have been heard in rising order."""
        if segment is not None and segment == self._segment:
            self._segment_ms += FRAME_MS
            return False
        finished, length = self._segment, self._segment_ms
        if finished is not None:
            if SIT_TONE_MS[0] <= length <= SIT_TONE_MS[1]:
                expected = len(self._sit_seen)
                self._sit_seen = [*self._sit_seen, finished] if finished == expected else (
                    [0] if finished == 0 else [])
            else:
                self._sit_seen = []
        self._segment, self._segment_ms = segment, FRAME_MS if segment is not None else 0
        return self._sit_seen == [0, 1, 2]
