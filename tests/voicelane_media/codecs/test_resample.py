"""codecs.resample: the media plane's one resampler (8k <-> 16k for the agent, 22.05k TTS, WAV playback)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from voicelane_media.codecs.resample import resample, resample_int16, resample_pcm16, to_int16

Floats = npt.NDArray[np.float64]


def tone(hz: float, rate: int, seconds: float = 1.0, level: float = 0.5) -> Floats:
    return level * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)


def power_db(x: npt.NDArray[np.floating]) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2)))


def dominant_hz(x: npt.NDArray[np.floating], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.argmax(spectrum) * rate / len(x))


def snr_db(reference: Floats, other: Floats) -> float:
    return power_db(reference) - power_db(reference - other)


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 8000), (22050, 16000),
                                          (44100, 8000), (48000, 16000)])
def test_a_speech_band_tone_keeps_its_pitch_level_and_duration(src: int, dst: int) -> None:
    out = resample(tone(700, src), src, dst)
    assert len(out) == dst  # one second in, one second out
    assert dominant_hz(out, dst) == pytest.approx(700, abs=2)
    assert power_db(out) == pytest.approx(power_db(tone(700, src)), abs=0.2)


def test_downsampling_suppresses_content_above_the_new_nyquist() -> None:
    # a 5 kHz tone at 16 kHz would alias to 3 kHz at 8 kHz: the low-pass removes it
    high = resample(tone(5000, 16000), 16000, 8000)
    assert power_db(high) - power_db(tone(5000, 16000)) < -40
    # while 3 kHz (in the telephone band) passes at full level
    assert power_db(resample(tone(3000, 16000), 16000, 8000)) == pytest.approx(power_db(tone(3000, 16000)), abs=0.3)


def test_frame_sizes_for_the_agent_leg() -> None:
    frame8 = to_int16(tone(440, 8000, 0.02)).tobytes()
    assert len(resample_pcm16(frame8, 8000, 16000)) == 640  # 160 -> 320 samples
    frame16 = to_int16(tone(440, 16000, 0.02)).tobytes()
    assert len(resample_pcm16(frame16, 16000, 8000)) == 320  # 320 -> 160 samples
    piper = to_int16(tone(440, 22050, 0.04)).tobytes()  # 882 samples
    assert len(resample_pcm16(piper, 22050, 8000)) == 640  # 320 samples


def test_resampling_in_20ms_chunks_matches_resampling_the_whole() -> None:
    # the agent leg resamples frame by frame: chunk edges must not dip towards zero
    pcm = to_int16(tone(300, 16000)).tobytes()
    whole = np.frombuffer(resample_pcm16(pcm, 16000, 8000), "<i2").astype(np.float64)
    chunked = b"".join(resample_pcm16(pcm[i:i + 640], 16000, 8000) for i in range(0, len(pcm), 640))
    assert snr_db(whole, np.frombuffer(chunked, "<i2").astype(np.float64)) > 40


def test_8k_to_16k_and_back_is_transparent_for_speech() -> None:
    pcm = to_int16(tone(440, 8000)).tobytes()
    up = b"".join(resample_pcm16(pcm[i:i + 320], 8000, 16000) for i in range(0, len(pcm), 320))
    back = np.frombuffer(resample_pcm16(up, 16000, 8000), "<i2").astype(np.float64)
    assert snr_db(np.frombuffer(pcm, "<i2").astype(np.float64), back) > 35


def test_identity_empty_odd_bytes_and_bad_rates() -> None:
    pcm = to_int16(tone(440, 8000, 0.01)).tobytes()
    assert resample_pcm16(pcm, 8000, 8000) is pcm
    assert resample_pcm16(b"", 8000, 16000) == b""
    assert len(resample_pcm16(pcm + b"\x01", 8000, 16000)) == 2 * len(pcm)  # a trailing odd byte is dropped
    samples = to_int16(tone(440, 8000, 0.01))
    assert resample_int16(samples, 8000, 8000) is samples
    assert resample_int16(samples, 8000, 16000).dtype == np.int16
    with pytest.raises(ValueError, match="positive"):
        resample(tone(440, 8000), 0, 8000)


def test_full_scale_input_clips_instead_of_wrapping() -> None:
    square = np.where(np.arange(16000) % 40 < 20, 32767, -32768).astype(np.int16)
    out = resample_int16(square, 16000, 8000)  # the low-pass overshoots (Gibbs) beyond full scale
    assert out.min() >= -32768 and out.max() <= 32767
    assert (np.abs(out.astype(np.int32)) > 30000).mean() > 0.5  # still a loud square, not wrapped noise
