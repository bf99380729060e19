"""Adaptive jitter buffer behaviour with a simulated network and playout clock."""

from __future__ import annotations

import random

from voicelane_media.rtp.jitter_buffer import JitterBuffer
from voicelane_media.rtp.packet import RtpPacket


def pkt(i: int, base_ts: int = 0) -> RtpPacket:
    return RtpPacket(0, i & 0xFFFF, (base_ts + 160 * i) & 0xFFFFFFFF, 1, bytes([i & 0xFF]) * 160)


def test_reorders_and_plays_in_timestamp_order() -> None:
    jb = JitterBuffer(min_ms=40)
    assert jb.pop() is None
    for i in [0, 2, 1, 3, 5, 4]:
        assert jb.push(pkt(i), 0.02 * i)
    frames = [jb.pop() for _ in range(6)]
    assert [f.sequence_number for f in frames if f] == [0, 1, 2, 3, 4, 5]


def test_gaps_signal_plc_and_late_duplicates_are_counted() -> None:
    jb = JitterBuffer(min_ms=20)
    jb.push(pkt(0), 0.0)
    jb.push(pkt(2), 0.04)
    f0, f1 = jb.pop(), jb.pop()
    assert f0 is not None and f0.payload is not None
    assert f1 is not None and f1.payload is None and jb.stats.concealed == 1
    assert jb.push(pkt(1), 0.05) is False and jb.stats.late == 1  # its slot already played
    assert jb.push(pkt(2), 0.05) is False and jb.stats.duplicate == 1
    f2 = jb.pop()
    assert f2 is not None and f2.sequence_number == 2


def test_timestamp_wraparound() -> None:
    jb = JitterBuffer()
    base = 2**32 - 320
    for i in range(5):
        jb.push(pkt(i, base), 0.02 * i)
    seqs = [f.sequence_number for f in (jb.pop() for _ in range(5)) if f and f.payload]
    assert seqs == [0, 1, 2, 3, 4]


def simulate(jitter_s: float, n: int = 1500, seed: int = 1) -> JitterBuffer:
    rng = random.Random(seed)
    jb = JitterBuffer(min_ms=20, max_ms=200)
    arrivals = sorted((0.02 * i + rng.uniform(0, jitter_s), i) for i in range(n))
    t, k = 0.0, 0
    while t < 0.02 * n + 0.5:
        while k < len(arrivals) and arrivals[k][0] <= t:
            jb.push(pkt(arrivals[k][1]), arrivals[k][0])
            k += 1
        jb.pop()
        t += 0.02
    return jb


def test_adapts_target_depth_to_jitter() -> None:
    calm = simulate(0.002)
    rough = simulate(0.120)
    assert calm.target_ms == 20
    assert 60 <= rough.target_ms <= 200
    assert calm.stats.late == 0
    # after adapting, the rough stream loses only a small fraction to lateness
    assert rough.stats.late < 0.1 * 1500
    assert rough.stats.played > 0.85 * 1500
