"""The outbound audio of one paced leg (a media stream, WebRTC, a room seat): 20 ms pacing, a mark after every segment, clear,
and what the far end actually heard, read from the marks it echoes.

We send at real time, but the provider plays out behind us (network, its jitter buffer), so
"sent" is not "heard". Each segment (an utterance, or a chunk of one) is followed by a mark;
the provider echoes the mark once the audio before it has played. A segment whose mark came
back was heard in full. At a clear, a segment still without its echo was cut: its heard part
is estimated on the provider's playout clock (started when its first frame left, pushed back
by late echoes) and kept short of its end, since the missing echo says it did not finish.
Echoes of cleared segments (Twilio echoes every pending mark on a clear) are ignored.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.base import AudioTap, LiveSource

log = logging.getLogger(__name__)
FRAME_S = 0.02


@dataclass(eq=False)
class Segment:
    """Audio queued toward the caller and what became of it."""

    samples: Int16Array
    agent: bool  # the agent's audio (its heard counter), else the call's play/say
    done: asyncio.Future[int]
    position: int = 0  # samples sent
    mark: str | None = None
    play_start: float | None = None  # estimated start of its playout at the far end
    acked: bool = False
    cleared: bool = False
    heard_at_clear: int = 0

    @property
    def length(self) -> int:
        return int(self.samples.shape[0])


class Playout:
    """Paced sending toward the caller, marks and their echoes (one per stream)."""

    def __init__(self, sample_rate: int, send_frame: Callable[[Int16Array], Awaitable[None]],
                 send_mark: Callable[[str], Awaitable[None]], send_idle: bool = False) -> None:
        self.sample_rate = sample_rate
        self.send_idle = send_idle  # silence on idle ticks too (a WebRTC track's steady clock)
        self.frame = sample_rate // 50
        self._send_frame = send_frame
        self._send_mark = send_mark
        self.queue: deque[Segment] = deque()
        self.unacked: dict[str, Segment] = {}
        self.taps: list[AudioTap] = []
        self.live_source: LiveSource | None = None  # pulled on idle ticks (a bridge's mix)
        self._names = itertools.count(1)
        self._free_at = 0.0  # when the far end's playout of what we sent should end
        self._agent_heard = 0  # samples of agent segments whose outcome is final
        self._agent_open: list[Segment] = []
        self.frames_sent = 0
        self.marks_sent = 0
        self.marks_acked = 0
        self.stale_marks = 0
        self.clears_sent = 0
        self.late_ticks = 0

    # -- queueing -------------------------------------------------------------------------

    def enqueue(self, samples: Int16Array, agent: bool) -> Segment:
        segment = Segment(samples, agent, asyncio.get_running_loop().create_future())
        if not segment.length:
            segment.done.set_result(0)
            return segment
        self.queue.append(segment)
        if agent:
            self._agent_open.append(segment)
        return segment

    # -- the 20 ms clock ------------------------------------------------------------------

    async def run(self) -> None:
        """Send one frame per 20 ms tick (silence to the taps when idle) until cancelled."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            await self._tick(loop.time())
            next_at += FRAME_S
            delay = next_at - loop.time()
            if delay < -0.2:  # the loop stalled: do not burst to catch up
                self.late_ticks += 1
                next_at = loop.time()
            await asyncio.sleep(max(0.0, delay))

    async def _tick(self, now: float) -> None:
        segment = self.queue[0] if self.queue else None
        if segment is None:
            live = self.live_source() if self.live_source is not None else None
            frame: Int16Array = np.zeros(self.frame, dtype=np.int16) if live is None else live
            self._tap(frame)
            if self.send_idle or live is not None:
                await self._send_frame(frame)
            return
        if segment.play_start is None:
            segment.play_start = max(now, self._free_at)
            self._free_at = segment.play_start + segment.length / self.sample_rate
        chunk = segment.samples[segment.position : segment.position + self.frame]
        frame = chunk if chunk.shape[0] == self.frame else np.concatenate(
            [chunk, np.zeros(self.frame - chunk.shape[0], dtype=np.int16)])
        segment.position += int(chunk.shape[0])
        self._tap(frame)
        await self._send_frame(frame)
        self.frames_sent += 1
        if segment.position >= segment.length:
            self.queue.popleft()
            segment.mark = f"vl-{next(self._names)}"
            self.unacked[segment.mark] = segment
            if not segment.done.done():
                segment.done.set_result(segment.length)
            await self._send_mark(segment.mark)
            self.marks_sent += 1

    def _tap(self, frame: Int16Array) -> None:
        for tap in list(self.taps):
            try:
                tap(frame)
            except Exception:  # a tap never stops the playout
                log.exception("playout tap failed")

    # -- the far end's answers ------------------------------------------------------------

    def mark_echoed(self, name: str, now: float) -> None:
        segment = self.unacked.pop(name, None)
        if segment is None or segment.cleared:
            self.stale_marks += 1
            return
        self.marks_acked += 1
        segment.acked = True
        estimated_end = (segment.play_start or now) + segment.length / self.sample_rate
        if now > estimated_end:  # the far end is behind our estimate: so is the rest
            self._free_at += now - estimated_end
            for other in self.unacked.values():
                if other.play_start is not None:
                    other.play_start += now - estimated_end

    def heard(self, segment: Segment, now: float) -> int:
        """Samples of ``segment`` the far end has played by ``now``."""
        if segment.acked:
            return segment.length
        if segment.cleared:
            return segment.heard_at_clear
        if segment.play_start is None:
            return 0
        elapsed = int((now - segment.play_start) * self.sample_rate)
        ceiling = max(0, min(segment.position, segment.length - self.frame))
        return max(0, min(elapsed, ceiling))

    # -- clear ----------------------------------------------------------------------------

    def cut(self, now: float, agent_only: bool = False) -> tuple[int, bool]:
        """Drop queued audio (the agent's only, or all): the samples heard of the segment
        that was playing, and whether the far end holds some of it (send it a clear)."""
        cut = [s for s in [*self.unacked.values(), *self.queue]
               if not s.cleared and (s.agent or not agent_only)]
        playing = 0
        for segment in cut:
            segment.heard_at_clear = self.heard(segment, now)
            segment.cleared = True
            if segment.play_start is not None and segment.heard_at_clear:
                playing = segment.heard_at_clear
            if not segment.done.done():
                segment.done.set_result(segment.heard_at_clear)
        self.queue = deque(s for s in self.queue if not s.cleared)
        started = any(s.play_start is not None for s in cut)
        if started:
            self._free_at = now
            self.clears_sent += 1
        return playing, started

    def agent_heard_samples(self, now: float) -> int:
        """The running count of agent audio the far end played (final segments folded)."""
        still_open = []
        for segment in self._agent_open:
            if segment.acked or segment.cleared:
                self._agent_heard += self.heard(segment, now)
            else:
                still_open.append(segment)
        self._agent_open = still_open
        return self._agent_heard + sum(self.heard(s, now) for s in still_open)

    def stats(self) -> dict[str, int]:
        return {"frames_sent": self.frames_sent, "marks_sent": self.marks_sent,
                "marks_acked": self.marks_acked, "stale_marks": self.stale_marks,
                "clears_sent": self.clears_sent, "late_ticks": self.late_ticks}
