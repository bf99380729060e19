"""What the far end heard, by the marks it echoes (the playout's accounting, no sockets)."""

from __future__ import annotations

import numpy as np
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.playout import Playout


class Wire:
    def __init__(self) -> None:
        self.frames: list[Int16Array] = []
        self.marks: list[str] = []

    async def frame(self, pcm: Int16Array) -> None:
        self.frames.append(pcm)

    async def mark(self, name: str) -> None:
        self.marks.append(name)


def _tone(ms: int) -> Int16Array:
    return np.full(8 * ms, 1000, dtype=np.int16)


async def test_an_echoed_segment_was_heard_in_full_and_a_cut_one_by_the_clock() -> None:
    wire = Wire()
    playout = Playout(8000, wire.frame, wire.mark)
    taps: list[Int16Array] = []
    playout.taps.append(taps.append)
    first = playout.enqueue(_tone(100), agent=True)
    second = playout.enqueue(_tone(1000), agent=True)
    t = 0.0
    for _ in range(5):  # the first segment: 5 frames, then its mark
        await playout._tick(t)
        t += 0.02
    assert wire.marks == ["vl-1"] and await first.done == 800
    assert playout.agent_heard_samples(t) < 800 + 8  # sent, not yet echoed: not all heard
    playout.mark_echoed("vl-1", 0.1)
    for _ in range(10):  # 200 ms of the second segment sent
        await playout._tick(t)
        t += 0.02
    # nothing came back for the second segment: at the clear it was heard up to the clock
    heard, must_clear = playout.cut(0.25)
    assert must_clear and 0 < heard <= 0.15 * 8000 + 8
    assert second.done.result() == heard
    assert playout.agent_heard_samples(0.3) == 800 + heard  # the first in full, the cut one
    playout.mark_echoed("vl-2", 0.3)  # an echo after the clear (Twilio's) changes nothing
    assert playout.stale_marks == 1 and playout.agent_heard_samples(0.4) == 800 + heard
    await playout._tick(t)  # idle: the taps still get 20 ms of silence
    assert len(taps) == 16 and not taps[-1].any()


async def test_a_late_echo_pushes_the_far_ends_clock_back() -> None:
    wire = Wire()
    playout = Playout(8000, wire.frame, wire.mark)
    playout.enqueue(_tone(20), agent=True)
    playout.enqueue(_tone(400), agent=True)
    await playout._tick(0.0)
    await playout._tick(0.02)
    playout.mark_echoed("vl-1", 0.5)  # the provider played it 480 ms later than we thought
    # by 0.6 s, only ~100 ms of the second segment can have played, not 580
    assert playout.agent_heard_samples(0.6) <= 160 + int(0.12 * 8000)
