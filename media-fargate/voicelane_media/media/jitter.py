"""Adaptive jitter buffer driven by the pool's 20 ms tick.

Frames are keyed by RTP timestamp. The playout cursor starts ``target`` frames behind the first
packet and advances one frame per tick. A packet that arrives after its frame was played out
(late) grows the target by one frame (the cursor holds for a tick); a window without late
packets shrinks it again, and a buffer that stays deeper than the target drops one frame, so the
added delay follows the network's jitter and a sender clock running slightly fast never
accumulates delay. Large timestamp jumps (source restart, hold, silence suppression) resync.
"""

from __future__ import annotations

MASK = 0xFFFFFFFF
FRAME = 160
RESYNC_FRAMES = 50  # a packet more than 1 s ahead or far behind the cursor: start over
ADAPT_WINDOW = 50  # ticks between depth checks (1 s)
SHRINK_WINDOW = 250  # ticks without a late packet before the target shrinks (5 s)


def _signed(delta: int) -> int:
    delta &= MASK
    return delta - (1 << 32) if delta & 0x80000000 else delta


class AdaptiveJitterBuffer:
    """``put`` packets as they arrive; ``get`` one frame's payload (or None) every 20 ms."""

    def __init__(self, *, min_frames: int = 1, max_frames: int = 10, initial_frames: int = 2) -> None:
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.initial_frames = initial_frames
        self.target = initial_frames
        self.late = 0
        self.dropped = 0  # frames discarded to shrink the delay
        self._frames: dict[int, bytes] = {}
        self._next: int | None = None
        self._hold = 0
        self._ticks = 0
        self._min_depth = 1 << 30
        self._since_late = 0
        self._empty_run = 0

    def reset(self) -> None:
        self._frames.clear()
        self._next = None
        self._hold = 0
        self.target = self.initial_frames

    @property
    def depth(self) -> int:
        return len(self._frames)

    @property
    def delay_ms(self) -> float:
        """Current target playout delay."""
        return self.target * 20.0

    def _resync(self, ts: int) -> None:
        self._frames.clear()
        self._next = ts
        self._hold = self.target

    def put(self, seq: int, ts: int, payload: bytes, now: float) -> None:
        nxt = self._next
        if nxt is None:
            self._resync(ts)
            nxt = ts
        offset = _signed(ts - nxt)
        if offset < 0:
            if offset < -RESYNC_FRAMES * FRAME or self._empty_run > self.max_frames:
                self._resync(ts)
            else:
                self.late += 1
                self._since_late = 0
                if self.target < self.max_frames:
                    self.target += 1
                    self._hold += 1
                return
        elif offset > RESYNC_FRAMES * FRAME:
            self._resync(ts)
        self._frames[ts] = payload

    def get(self, now: float) -> bytes | None:
        nxt = self._next
        if nxt is None:
            return None
        if self._hold:
            self._hold -= 1
            return None
        frames = self._frames
        payload = frames.pop(nxt, None)
        self._next = nxt = (nxt + FRAME) & MASK
        if payload is None:
            self._empty_run += 1
        else:
            self._empty_run = 0
        depth = len(frames)
        if depth < self._min_depth:
            self._min_depth = depth
        self._ticks += 1
        self._since_late += 1
        if self._ticks >= ADAPT_WINDOW:
            if self._min_depth > self.target and frames:
                dropped = frames.pop(nxt, None)
                self._next = (nxt + FRAME) & MASK
                self.dropped += dropped is not None
            if self._since_late >= SHRINK_WINDOW and self.target > self.min_frames:
                self.target -= 1
                self._since_late = 0
            self._ticks = 0
            self._min_depth = 1 << 30
        return payload
