"""Sample-rate conversion in numpy (pure and synchronous): the one resampler of the media plane.

Used for playback sources (any WAV -> 8 kHz), the agent loop (8 kHz G.711 <-> 16 kHz engines)
and TTS output (e.g. piper at 22.05 kHz -> 8 or 16 kHz). Quality target: speech for STT and
telephony, not hi-fi.

Downsampling first low-passes with a 63-tap Hamming-windowed sinc at 0.45 x the output rate, so
content above the output Nyquist does not alias into the speech band; the output instants are then
interpolated linearly (exact for integer ratios). Upsampling interpolates linearly (the input has
no content above its own Nyquist to suppress). The input is extended with its edge values before
filtering, so audio resampled in 20 ms chunks does not dip towards zero at every chunk boundary.
Output length is ``int(n * dst_rate / src_rate)``: 160 <-> 320 samples for 8 <-> 16 kHz frames.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

TAPS = 63
PASSBAND = 0.45  # low-pass cutoff as a fraction of the lower of the two rates


@lru_cache(maxsize=32)
def _lowpass(src_rate: int, dst_rate: int) -> FloatArray:
    cutoff = PASSBAND * min(src_rate, dst_rate) / src_rate  # cycles per input sample
    n = np.arange(TAPS) - (TAPS - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(TAPS)
    kernel: FloatArray = h / h.sum()
    kernel.setflags(write=False)
    return kernel


def resample(x: npt.NDArray[np.floating], src_rate: int, dst_rate: int) -> FloatArray:
    """Mono float samples at `src_rate` -> float64 samples at `dst_rate` (see the module doc)."""
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
    samples = np.asarray(x, dtype=np.float64)
    if src_rate == dst_rate or not samples.shape[0]:
        return samples
    if dst_rate < src_rate:
        half = TAPS // 2
        padded = np.pad(samples, half, mode="edge")
        samples = np.convolve(padded, _lowpass(src_rate, dst_rate), mode="valid")
    count = int(samples.shape[0] * dst_rate / src_rate)
    positions = np.arange(count) * (src_rate / dst_rate)
    return np.asarray(np.interp(positions, np.arange(samples.shape[0]), samples), np.float64)


def to_int16(x: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    """Float samples in [-1, 1] -> int16, rounded and clipped."""
    return np.asarray(np.clip(np.round(x * 32767.0), -32768, 32767), dtype=np.int16)


def resample_int16(pcm: npt.NDArray[np.int16], src_rate: int, dst_rate: int) -> npt.NDArray[np.int16]:
    """int16 samples at `src_rate` -> int16 samples at `dst_rate`."""
    if src_rate == dst_rate:
        return pcm
    return to_int16(resample(pcm.astype(np.float64) / 32768.0, src_rate, dst_rate))


def resample_pcm16(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """PCM16 little-endian mono bytes at `src_rate` -> the same at `dst_rate` (an odd byte is dropped)."""
    if src_rate == dst_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int16)
    return resample_int16(samples, src_rate, dst_rate).astype("<i2").tobytes()
