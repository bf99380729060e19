"""Small PCM16 helpers for the agent loop (numpy; pure and synchronous).

Resampling lives in `voicelane_media.codecs.resample` (`resample_pcm16`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def pcm_to_float(pcm: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm(samples: npt.NDArray[np.floating]) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0)
    return bytes((clipped * 32767.0).astype("<i2").tobytes())


def rms_dbfs(pcm: bytes) -> float:
    """Level of a PCM16 block in dBFS (-100 for silence)."""
    if not pcm:
        return -100.0
    samples = pcm_to_float(pcm)
    power = float(np.mean(samples * samples))
    return -100.0 if power <= 1e-10 else 10.0 * float(np.log10(power))


def tone(ms: float, sample_rate: int, freq: float = 220.0, level: float = 0.3) -> bytes:
    """A sine tone: stand-in 'speech' for fake engines and tests."""
    n = int(sample_rate * ms / 1000)
    t = np.arange(n, dtype=np.float64) / sample_rate
    return float_to_pcm(level * np.sin(2 * np.pi * freq * t))
