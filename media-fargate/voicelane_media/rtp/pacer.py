"""20 ms pacing arithmetic on a monotonic clock, without drift accumulation.

Deadlines are computed from the start time and the frame index (``start + n * interval``),
never by adding intervals to the previous wake-up, so scheduling jitter never accumulates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Pacer:
    start: float
    interval: float = 0.020

    def deadline(self, index: int) -> float:
        """When frame ``index`` (0-based) is due."""
        return self.start + index * self.interval

    def index_at(self, now: float) -> int:
        """Index of the latest frame whose deadline is at or before ``now`` (-1 before start)."""
        if now < self.start:
            return -1
        return math.floor((now - self.start) / self.interval + 1e-9)

    def delay_until(self, index: int, now: float) -> float:
        """Seconds to sleep before sending frame ``index`` (0 if already due)."""
        return max(0.0, self.deadline(index) - now)

    def frames_behind(self, next_index: int, now: float) -> int:
        """How many frames are overdue when ``next_index`` is the next one to send."""
        return max(0, self.index_at(now) - next_index + 1)

    def rtp_timestamp(self, index: int, base: int, samples_per_frame: int = 160) -> int:
        return (base + index * samples_per_frame) & 0xFFFFFFFF
