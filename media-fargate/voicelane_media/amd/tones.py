"""Pure-tone detection in the callee's audio (numpy, no asyncio): the voicemail beep and the
fax calling tone (CNG, 1,100 Hz, 0.5 s on / 3 s off, ITU-T T.30).

Each 20 ms frame is judged over the last 40 ms (25 Hz bins at any rate): a Hann-windowed FFT,
and a frame is tonal when one peak (+-2 bins) holds most of the energy. Speech never does:
voiced sounds spread their energy over many harmonics and fricatives over a wide band.
:class:`ToneTracker` joins tonal frames of a steady frequency into tones with a duration.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicelane_media.codecs.g711 import Int16Array

WINDOW_MS = 40
MIN_LEVEL_DBFS = -45.0  # quieter than this is line noise, not a tone
PEAK_SHARE = 0.7  # of the window's energy within +-2 bins of the peak
FREQ_JITTER_HZ = 40.0  # one tone's frames may wander this much (estimation, not drift)
FAX_CNG_HZ = 1100.0
FAX_TOLERANCE_HZ = 50.0
BEEP_BAND_HZ = (400.0, 2200.0)  # voicemail beeps: ~440 Hz to ~2 kHz, mostly 850-1400


@functools.cache
def _hann(size: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.hanning(size)  # one per window size: the tracker asks every 20 ms


def tone_frequency(window: Int16Array, sample_rate: int) -> float | None:
    """The frequency (Hz) of the pure tone filling ``window``, or None (speech, noise, quiet)."""
    samples = window.astype(np.float64) / 32768.0
    if samples.size < 64:
        return None
    power = float(np.mean(samples * samples))
    if power <= 0 or 10 * np.log10(power) < MIN_LEVEL_DBFS:
        return None
    spectrum = np.abs(np.fft.rfft(samples * _hann(samples.size))) ** 2
    spectrum[0] = 0.0  # DC
    peak = int(np.argmax(spectrum))
    total = float(spectrum.sum())
    near = float(spectrum[max(peak - 2, 0):peak + 3].sum())
    if total <= 0 or near / total < PEAK_SHARE:
        return None
    # Parabolic interpolation on the log spectrum: well under a bin of error.
    shift = 0.0
    if 0 < peak < spectrum.size - 1:
        a, b, c = np.log(spectrum[peak - 1:peak + 2] + 1e-20)
        denominator = a - 2 * b + c
        shift = 0.5 * (a - c) / denominator if denominator != 0 else 0.0
    return float((peak + shift) * sample_rate / samples.size)


@dataclass
class Tone:
    """A steady tone heard: its frequency, and when it started/ended (ms of audio fed)."""

    frequency_hz: float
    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def is_fax_cng(self) -> bool:
        return abs(self.frequency_hz - FAX_CNG_HZ) <= FAX_TOLERANCE_HZ

    @property
    def in_beep_band(self) -> bool:
        return BEEP_BAND_HZ[0] <= self.frequency_hz <= BEEP_BAND_HZ[1]


class ToneTracker:
    """Feed 20 ms frames; follows the tone being heard (``current``) and hands back each tone
    once it stops (``feed``'s return value)."""

    def __init__(self, sample_rate: int, frame_ms: int = 20) -> None:
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self._window = np.zeros(sample_rate * WINDOW_MS // 1000, dtype=np.int16)
        self.elapsed_ms = 0
        self.current: Tone | None = None
        self._frequencies: list[float] = []

    def feed(self, frame: Int16Array) -> Tone | None:
        """Take one frame; the tone that just ended, if any. ``tonal`` says whether this
        frame itself was part of a tone."""
        size = self._window.size
        self._window = np.concatenate([self._window, frame])[-size:]
        self.elapsed_ms += self.frame_ms
        frequency = tone_frequency(self._window, self.sample_rate)
        current = self.current
        if frequency is not None and current is not None and \
                abs(frequency - current.frequency_hz) <= FREQ_JITTER_HZ:
            self._frequencies.append(frequency)
            current.frequency_hz = float(np.median(self._frequencies))
            current.end_ms = self.elapsed_ms
            return None
        ended = current
        self.current = None
        self._frequencies = []
        if frequency is not None:
            self.current = Tone(frequency, self.elapsed_ms - self.frame_ms, self.elapsed_ms)
            self._frequencies = [frequency]
        return ended

    @property
    def tonal(self) -> bool:
        return self.current is not None and self.current.end_ms == self.elapsed_ms
