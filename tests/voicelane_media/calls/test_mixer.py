"""The conference mix, frame by frame: each participant hears everyone but itself, at its own
rate; loss never stalls the others; mute, hold, clipping protection and clock drift."""

from __future__ import annotations

import numpy as np
import pytest
from voicelane_media.calls.mixer import IN_QUEUE_FRAMES, OUT_QUEUE_FRAMES, Mixer, MixerError


def tone(freq: float, rate: int, frames: int = 1, amplitude: float = 4000.0,
         start: int = 0) -> np.ndarray:
    n = np.arange(start, start + rate // 50 * frames) / rate
    return (amplitude * np.sin(2 * np.pi * freq * n)).astype(np.int16)


def dominant_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * rate / len(pcm))


def band_energy(pcm: np.ndarray, rate: int, freq: float) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    bins = np.fft.rfftfreq(len(pcm), 1 / rate)
    return float(spectrum[np.abs(bins - freq) < 25].max())


def run(mixer: Mixer, sources: dict[str, tuple[float, int]], ticks: int) -> dict[str, np.ndarray]:
    """Each participant says its tone for ``ticks``; what each heard, concatenated."""
    heard: dict[str, list[np.ndarray]] = {key: [] for key in sources}
    for tick in range(ticks):
        for key, (freq, rate) in sources.items():
            if freq:
                mixer.push(key, tone(freq, rate, start=tick * rate // 50))
        mixer.mix()
        for key in sources:
            frame = mixer.pull(key)
            assert frame is not None and frame.shape[0] == sources[key][1] // 50
            heard[key].append(frame)
    return {key: np.concatenate(frames) for key, frames in heard.items()}


def test_each_participant_hears_the_others_and_never_itself() -> None:
    mixer = Mixer()
    for key in "abc":
        mixer.add(key, 8000)
    heard = run(mixer, {"a": (400.0, 8000), "b": (1000.0, 8000), "c": (0.0, 8000)}, 25)
    assert band_energy(heard["a"], 8000, 1000) > 100 * band_energy(heard["a"], 8000, 400) + 1
    assert band_energy(heard["b"], 8000, 400) > 100 * band_energy(heard["b"], 8000, 1000) + 1
    assert band_energy(heard["c"], 8000, 400) > 1e5 and band_energy(heard["c"], 8000, 1000) > 1e5


def test_two_parties_hear_each_other_sample_exact_at_one_rate() -> None:
    mixer = Mixer()
    mixer.add("a", 8000)
    mixer.add("b", 8000)
    said = tone(440.0, 8000)
    mixer.push("a", said)
    mixer.mix()
    assert np.array_equal(mixer.pull("b"), said)
    assert not np.any(mixer.pull("a"))


def test_mixed_rates_mix_at_the_highest_and_come_back_at_each_legs_rate() -> None:
    mixer = Mixer()
    mixer.add("phone", 8000)
    mixer.add("wideband", 16000)
    mixer.add("browser", 48000)
    assert mixer.sample_rate == 48000
    heard = run(mixer, {"phone": (300.0, 8000), "wideband": (0.0, 16000),
                        "browser": (6000.0, 48000)}, 25)
    assert abs(dominant_hz(heard["browser"], 48000) - 300) < 30
    assert abs(dominant_hz(heard["wideband"], 16000) - 300) < 30
    assert band_energy(heard["wideband"], 16000, 6000) > 1e5  # 6 kHz fits 16 kHz: kept
    assert abs(dominant_hz(heard["phone"], 8000) - 6000) > 1000  # but not in 8 kHz: filtered


def test_a_silent_or_lost_participant_never_stalls_the_others() -> None:
    mixer = Mixer()
    for key in "abc":
        mixer.add(key, 8000)
    for tick in range(10):
        mixer.push("a", tone(500.0, 8000, start=tick * 160))  # b and c send nothing at all
        mixer.mix()
        assert mixer.pull("b") is not None and mixer.pull("c") is not None
    assert mixer.participant("b").ticks_silent == 10
    assert mixer.participant("a").ticks_silent == 0


def test_mute_and_hold() -> None:
    mixer = Mixer()
    for key in "abc":
        mixer.add(key, 8000)
    mixer.participant("a").muted = True
    mixer.push("a", tone(500.0, 8000))
    mixer.mix()
    assert not np.any(mixer.pull("b"))  # nobody hears a muted participant
    assert not np.any(mixer.pull("c"))
    mixer.participant("a").muted = False
    mixer.participant("c").held = True
    mixer.push("a", tone(500.0, 8000))
    mixer.push("c", tone(900.0, 8000))
    mixer.mix()
    assert mixer.pull("c") is None  # a held participant hears nothing from the room
    heard_b = mixer.pull("b")
    assert heard_b is not None
    assert abs(dominant_hz(heard_b, 8000) - 500) < 60  # and is not heard


def test_loud_voices_are_limited_not_wrapped() -> None:
    mixer = Mixer()
    for key in "abcd":
        mixer.add(key, 8000)
    loud = np.full(160, 30000, dtype=np.int16)
    for _ in range(3):
        for key in "abc":
            mixer.push(key, loud)
        mixer.mix()
        frame = mixer.pull("d")
        assert frame is not None
        assert frame.min() > 0  # a wrapped int16 sum would go negative
        assert frame.max() <= 32767
    assert mixer.participant("d").clipped_frames == 3
    for _ in range(20):  # quiet again: the gain comes back to 1 within ~200 ms
        mixer.push("a", np.full(160, 1000, dtype=np.int16))
        mixer.mix()
        last = mixer.pull("d")
    assert last is not None and int(last[-1]) == 1000


def test_clock_drift_drops_the_oldest_frames_and_counts_them() -> None:
    mixer = Mixer()
    mixer.add("fast", 8000)
    mixer.add("slow", 8000)
    for tick in range(IN_QUEUE_FRAMES + 4):  # "fast" pushes, nobody mixes yet
        mixer.push("fast", np.full(160, tick, dtype=np.int16))
    assert mixer.participant("fast").frames_in_dropped == 4
    mixer.mix()
    assert int(mixer.pull("slow")[0]) == 4  # type: ignore[index]  # the oldest kept frame
    for _ in range(OUT_QUEUE_FRAMES + 2):  # "slow" never pulls
        mixer.mix()
    assert mixer.participant("slow").frames_out_dropped == 2
    assert mixer.pull("nobody") is None


def test_bad_participants_are_refused() -> None:
    mixer = Mixer()
    mixer.add("a", 8000)
    with pytest.raises(MixerError):
        mixer.add("a", 8000)
    with pytest.raises(MixerError):
        mixer.add("b", 8001)
    with pytest.raises(MixerError):
        mixer.remove("b")
    mixer.push("gone", np.zeros(160, np.int16))  # a tap that outlived its leg: ignored
    mixer.push("a", np.zeros(100, np.int16))  # a short frame is padded to 20 ms
    assert mixer.participant("a").inbound[0].shape[0] == 160
