"""Tone detection: beep and fax frequencies found, speech and noise never taken for a tone."""

from __future__ import annotations

import numpy as np
import pytest
from voicelane_media.amd import ToneTracker, tone_frequency
from voicelane_media.sim.greetings import concat, frames, silence, speech, tone, with_noise


@pytest.mark.parametrize("hz", [440.0, 1000.0, 1100.0, 1400.0, 2000.0])
def test_a_pure_tone_is_found_within_a_few_hz_even_in_noise(hz: float) -> None:
    clean = tone(hz, 40)
    noisy = with_noise(tone(hz, 40), snr_db=15, seed=int(hz))
    for audio in (clean, noisy):
        found = tone_frequency(audio, 8000)
        assert found is not None and abs(found - hz) < 8


def test_speech_and_noise_are_not_tones() -> None:
    voice = speech("Hi, you have reached the Johnsons, please leave a message.")
    noise = (np.random.default_rng(1).normal(0, 3000, 8000)).astype(np.int16)
    for audio in (voice, noise):
        tracker = ToneTracker(8000)
        tonal = 0
        for frame in frames(audio):
            tracker.feed(frame)
            tonal += tracker.tonal
        assert tonal / len(frames(audio)) < 0.03


def test_the_tracker_measures_a_beep_and_reports_it_when_it_stops() -> None:
    tracker = ToneTracker(8000)
    ended = [t for f in frames(concat(silence(200), tone(1000, 400), silence(200)))
             if (t := tracker.feed(f)) is not None]
    assert len(ended) == 1
    beep = ended[0]
    assert abs(beep.frequency_hz - 1000) < 5 and beep.in_beep_band and not beep.is_fax_cng
    assert 380 <= beep.duration_ms <= 460 and 180 <= beep.start_ms <= 240


def test_quiet_line_noise_is_no_tone() -> None:
    assert tone_frequency(tone(1000, 40, dbfs=-60), 8000) is None
