"""Adaptive RTP jitter buffer driven by a 20 ms playout tick (pure and synchronous).

The caller (the media pool's tick in ``transports/sip/rtp/receiver.py``) ``put``s every audio packet as it
arrives and ``get``s one frame's payload per 20 ms tick; ``None`` means nothing to play for that
frame, so the caller conceals it (PLC) or plays silence. Both take the current time but the buffer
needs no clock of its own: it counts ticks, so it is deterministic under test.

Frames are keyed by RTP timestamp on the playout grid (the first packet's timestamp plus multiples
of 160). Packets of other durations (ptime 10, 30, 40 ms... i.e. G.711 payloads of 80, 240, 320
bytes) or off the grid are re-framed on ``put``: cut into the 20 ms frames they overlap, a frame
only partly received being completed with ``silence`` (the codec's silence code), so ``get``
always returns exactly one 160-byte frame. Payload bytes are samples (G.711, 8 kHz). The playout cursor starts ``target`` frames behind the first
packet and advances one frame per tick. A packet that arrives after its frame was played out
(late) grows the target by one frame (the cursor holds for a tick); a window without late
packets shrinks it again, and a buffer that stays deeper than the target drops one frame, so the
added delay follows the network's jitter and a sender clock running slightly fast never
accumulates delay. Large timestamp jumps (source restart, hold, silence suppression) resync.

Wideband codecs set ``frame`` (timestamp units per 20 ms: 160 for G.722, whose RTP clock is 8000
and whose bytes are timestamp units, so it re-frames like G.711; 960 for Opus) and, for a codec
whose payload is not sample-addressable (Opus), ``sample_payload = False``: a packet is then kept
whole on the grid slot at or before its timestamp, never cut.

The per-packet and per-tick paths are plain dict and int work (no per-packet objects): one
media node runs hundreds of these at 50 packets/s each.
"""

from __future__ import annotations

MASK = 0xFFFFFFFF
FRAME = 160  # samples (= bytes for G.711) per 20 ms frame at 8 kHz
RESYNC_FRAMES = 50  # a packet more than 1 s ahead or far behind the cursor: start over
ADAPT_WINDOW = 50  # ticks between depth checks (1 s)
SHRINK_WINDOW = 250  # ticks without a late packet before the target shrinks (5 s)


def _signed(delta: int) -> int:
    delta &= MASK
    return delta - (1 << 32) if delta & 0x80000000 else delta


class JitterBuffer:
    """``put`` packets as they arrive; ``get`` one frame's payload (or None: conceal) every 20 ms.

    Counters: ``late`` (arrived after their frame was played), ``duplicates`` (a frame already
    buffered), ``dropped`` (discarded to shrink the delay), ``concealed`` (ticks with nothing to
    play once playout started). ``target`` is the playout delay in frames, within
    [``min_frames``, ``max_frames``].
    """

    def __init__(self, *, min_frames: int = 1, max_frames: int = 10, initial_frames: int = 2) -> None:
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.initial_frames = initial_frames
        self.target = initial_frames
        self.late = 0
        self.duplicates = 0
        self.dropped = 0
        self.concealed = 0
        self.silence = b"\xff" * FRAME  # fills a partly received frame (PCMU silence by default)
        self.frame = FRAME  # timestamp units per 20 ms frame (see the module doc)
        self.sample_payload = True  # payload bytes are timestamp units: packets can be re-framed
        self._frames: dict[int, bytes] = {}
        self._next: int | None = None
        self._hold = 0
        self._ticks = 0
        self._min_depth = 1 << 30
        self._since_late = 0
        self._empty_run = 0

    def reset(self) -> None:
        """Forget the stream (a new SSRC): rebuffer from the next packet at the initial depth."""
        self._frames.clear()
        self._next = None
        self._hold = 0
        self.target = self.initial_frames

    @property
    def depth(self) -> int:
        """Frames buffered ahead of the playout cursor."""
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
        """One received audio packet (RTP sequence number, timestamp, payload)."""
        nxt = self._next
        if nxt is None:
            self._resync(ts)
            nxt = ts
        offset = _signed(ts - nxt)
        frame = self.frame
        if offset % frame or (self.sample_payload and len(payload) != frame):
            if self.sample_payload:
                self._put_reframed(ts, offset, payload)
                return
            ts = (ts - offset % frame) & MASK  # off the grid: the slot it starts in
            offset -= offset % frame
        if offset < 0:
            if offset < -RESYNC_FRAMES * frame or self._empty_run > self.max_frames:
                self._resync(ts)
            else:
                self._late()
                return
        elif offset > RESYNC_FRAMES * frame:
            self._resync(ts)
        elif ts in self._frames:
            self.duplicates += 1
            return
        self._frames[ts] = payload

    def _late(self) -> None:
        self.late += 1
        self._since_late = 0
        if self.target < self.max_frames:
            self.target += 1
            self._hold += 1

    def _put_reframed(self, ts: int, offset: int, payload: bytes) -> None:
        """A packet that is not one frame on the grid: write its samples into the frames it spans."""
        size = len(payload)
        if not size:
            return
        if offset + size <= 0:  # wholly before the cursor
            if offset < -RESYNC_FRAMES * self.frame or self._empty_run > self.max_frames:
                self._resync(ts)
                offset = 0
            else:
                self._late()
                return
        elif offset > RESYNC_FRAMES * self.frame:
            self._resync(ts)
            offset = 0
        elif offset < 0:  # its head is late, the rest still plays
            self._late()
        nxt = self._next
        assert nxt is not None
        frames = self._frames
        pos = -offset if offset < 0 else 0
        while pos < size:
            rel = offset + pos
            into = rel % self.frame
            take = min(self.frame - into, size - pos)
            key = (nxt + rel - into) & MASK
            piece = payload[pos:pos + take]
            if take == self.frame:
                if key in frames:
                    self.duplicates += 1
                else:
                    frames[key] = piece
            else:
                base = frames.get(key, self.silence)
                frames[key] = base[:into] + piece + base[into + take:]
            pos += take

    def get(self, now: float) -> bytes | None:
        """The payload of the next 20 ms frame, or None (buffering, lost or late: conceal)."""
        nxt = self._next
        if nxt is None:
            return None
        if self._hold:
            self._hold -= 1
            return None
        frames = self._frames
        payload = frames.pop(nxt, None)
        self._next = nxt = (nxt + self.frame) & MASK
        if payload is None:
            self._empty_run += 1
            self.concealed += 1
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
                self._next = (nxt + self.frame) & MASK
                self.dropped += dropped is not None
            if self._since_late >= SHRINK_WINDOW and self.target > self.min_frames:
                self.target -= 1
                self._since_late = 0
            self._ticks = 0
            self._min_depth = 1 << 30
        return payload
