"""The caller's audio, re-cut into 20 ms frames for a call's audio taps.

Media streams and WebRTC deliver the caller's audio in pieces of any size (a provider's
chunks, Opus frames resampled); the taps (recording, the agent's ear, gather) want one
20 ms frame at a time at the transport's rate. RTP already arrives framed (`sip.rtp.session`).
"""

from __future__ import annotations

import logging

import numpy as np

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.base import AudioTap

log = logging.getLogger(__name__)


class AudioTaps:
    """The taps of one leg's caller audio, fed whatever pieces arrive."""

    def __init__(self, sample_rate: int) -> None:
        self.frame_samples = sample_rate // 50
        self.frames = 0  # 20 ms frames delivered (the leg's `frames_in`)
        self._taps: list[AudioTap] = []
        self._pending = np.zeros(0, dtype=np.int16)

    def add(self, tap: AudioTap) -> None:
        self._taps.append(tap)

    def remove(self, tap: AudioTap) -> None:
        if tap in self._taps:
            self._taps.remove(tap)

    def feed(self, pcm: Int16Array) -> None:
        """Deliver every whole 20 ms frame now; keep the rest for the next piece."""
        size = self.frame_samples
        buffered = np.concatenate([self._pending, pcm]) if self._pending.size else pcm
        whole = buffered.shape[0] // size * size
        for start in range(0, whole, size):
            frame = buffered[start : start + size]
            self.frames += 1
            for tap in list(self._taps):
                try:
                    tap(frame)
                except Exception:  # a tap never stops the leg
                    log.exception("audio tap failed")
        self._pending = buffered[whole:].copy()
