"""Conference mixer capacity: participants one conference's mixer holds on one core at 0 late
frames.

Two figures, each pinned to one CPU (``os.sched_setaffinity``):

1. ``Mixer.mix`` alone (pure, synchronous): for N participants at 8 kHz (G.711 legs) or half of
   them at 16 kHz (wideband legs, so the room mixes at 16 kHz and resamples per leg), push one
   frame per participant, mix, pull one frame per participant; microseconds per 20 ms tick and
   the share of the 20 ms budget it takes. N at 100 % is the ceiling.
2. ``MediaRoom`` in real time: N synthetic legs joined to one room, each fed a 20 ms frame and
   pulled on a media clock of its own (one asyncio task standing in for the transports' pacer),
   for ``--seconds``. A late frame is a room tick (one mixed frame for every leg) that ran more
   than one frame (20 ms) behind its schedule after a one-second warm-up. The answer is the
   largest N with 0. The legs' own underruns and drops (their clock against the room's, which
   a loaded machine's scheduling jitter causes at any N) are shown beside it.

    .venv/bin/python bench/conference_mixer.py [--steps 10,50,100,200,400] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "media-fargate"))

from voicelane_media.calls.bridge import MediaRoom
from voicelane_media.calls.mixer import Mixer
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.base import AudioTap, LiveSource


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def tone(rate: int, hz: float, index: int) -> Int16Array:
    t = (np.arange(rate // 50) + index * (rate // 50)) / rate
    return np.asarray(3000 * np.sin(2 * np.pi * hz * t), dtype=np.int16)


def mix_cost(n: int, wideband: bool, ticks: int = 300) -> float:
    """CPU microseconds of one tick (push + mix + pull for every participant)."""
    mixer = Mixer()
    frames = {}
    for i in range(n):
        rate = 16000 if wideband and i % 2 else 8000
        mixer.add(i, rate)
        frames[i] = tone(rate, 200 + 10 * i, 0)
    started = time.process_time()  # CPU time: a loaded machine's waits are not the mixer's
    for _ in range(ticks):
        for i, frame in frames.items():
            mixer.push(i, frame)
        mixer.mix()
        for i in frames:
            mixer.pull(i)
    return (time.process_time() - started) / ticks * 1e6


class SyntheticLeg:
    """A leg of any transport as a room sees it: an audio tap and a live source."""

    def __init__(self, rate: int) -> None:
        self.sample_rate = rate
        self.taps: list[AudioTap] = []
        self.source: LiveSource | None = None

    def add_audio_tap(self, tap: AudioTap) -> None:
        self.taps.append(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        self.taps.remove(tap)

    def set_live_source(self, source: LiveSource | None) -> None:
        self.source = source


async def room_run(n: int, seconds: float) -> dict[str, float]:
    room = MediaRoom()
    legs = [SyntheticLeg(8000) for _ in range(n)]
    frames = [tone(8000, 200 + 10 * i, 0) for i in range(n)]
    loop = asyncio.get_running_loop()
    ticks: list[float] = []
    mix = room.mixer.mix

    def timed_mix() -> Int16Array:
        ticks.append(loop.time())
        return mix()

    room.mixer.mix = timed_mix  # type: ignore[method-assign]
    for i, leg in enumerate(legs):
        room.join(i, leg)
    await asyncio.sleep(0.01)  # the legs' clock runs half a frame after the room's
    start = next_at = loop.time()
    warm = start + 1.0
    counted = False
    cpu0 = time.process_time()
    while loop.time() - start < seconds + 1.0:
        for leg, frame in zip(legs, frames, strict=True):
            for tap in leg.taps:
                tap(frame)
            source: Callable[[], Int16Array | None] | None = leg.source
            if source is not None:
                source()
        if not counted and loop.time() >= warm:  # counters from here on
            for p in room.mixer:
                p.underruns = p.frames_out_dropped = 0
            room.late_ticks = 0
            cpu0 = time.process_time()
            counted = True
        next_at += 0.02
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    stats = [p for p in room.mixer]
    jitter = sum(p.underruns + p.frames_out_dropped for p in stats)
    cpu = (time.process_time() - cpu0) / seconds * 100
    await room.close()
    counted_ticks = [t for t in ticks if t >= warm]
    late = 0
    if counted_ticks:  # a tick more than one frame behind its 20 ms schedule is a late frame
        first = counted_ticks[0]
        late = sum(1 for k, t in enumerate(counted_ticks) if t - (first + 0.02 * k) > 0.02)
    expected = int(seconds * 50)
    return {"late": late + room.late_ticks, "ticks": len(counted_ticks), "expected": expected,
            "jitter": jitter, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", default="10,50,100,200,400")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--cpu", type=int, default=0)
    args = parser.parse_args()
    pin(args.cpu)
    steps = [int(s) for s in args.steps.split(",")]
    print(f"load average {os.getloadavg()[0]:.1f}, pinned to CPU {args.cpu}")
    print("\n1. Mixer.mix alone (push + mix + pull for every participant)")
    print("| N | 8 kHz us/tick | % of 20 ms | 8+16 kHz us/tick | % of 20 ms |")
    print("|---|---|---|---|---|")
    for n in steps:
        narrow, wide = mix_cost(n, False), mix_cost(n, True)
        print(f"| {n} | {narrow:.0f} | {narrow / 200:.1f} | {wide:.0f} | {wide / 200:.1f} |")
    print(f"\n2. MediaRoom in real time, {args.seconds:.0f} s per step (8 kHz legs)")
    print("| N | ticks / expected | late ticks | leg-clock underruns+drops | CPU % of one core |")
    print("|---|---|---|---|---|")
    best = 0
    for n in steps:
        result = asyncio.run(room_run(n, args.seconds))
        print(f"| {n} | {result['ticks']:.0f} / {result['expected']:.0f} | {result['late']:.0f} "
              f"| {result['jitter']:.0f} | {result['cpu']:.0f} |")
        if result["late"] == 0:
            best = n
    print(f"\nlargest N at 0 late frames: {best} participants in one conference on one core")


if __name__ == "__main__":
    main()
