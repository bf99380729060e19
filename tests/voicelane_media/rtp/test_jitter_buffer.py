"""rtp.jitter_buffer: the tick-driven adaptive jitter buffer, with a simulated network and playout clock."""

from __future__ import annotations

import random

import pytest
from voicelane_media.rtp.jitter_buffer import ADAPT_WINDOW, SHRINK_WINDOW, JitterBuffer

TICK = 0.02


def frame(i: int) -> bytes:
    return bytes([i & 0xFF]) * 160


def put(jb: JitterBuffer, i: int, base_ts: int = 0, now: float = 0.0) -> None:
    jb.put(i & 0xFFFF, (base_ts + 160 * i) & 0xFFFFFFFF, frame(i), now)


def played(payload: bytes | None) -> int | None:
    """Which packet a frame came from (its payload byte), None for a conceal tick."""
    return None if payload is None else payload[0]


def test_holds_the_initial_depth_then_plays_in_timestamp_order_after_reordering() -> None:
    jb = JitterBuffer(initial_frames=2)
    assert jb.get(0.0) is None  # nothing received yet
    for i in [0, 2, 1, 3, 5, 4]:
        put(jb, i)
    out = [played(jb.get(0.0)) for _ in range(8)]
    assert out == [None, None, 0, 1, 2, 3, 4, 5]  # 40 ms of initial delay, then in order
    assert jb.concealed == 0 and jb.late == 0


def test_a_gap_signals_plc_and_late_and_duplicate_packets_are_counted_and_dropped() -> None:
    jb = JitterBuffer(initial_frames=1, max_frames=1)
    put(jb, 0)
    put(jb, 2)
    assert jb.get(0.0) is None  # the initial depth
    assert played(jb.get(0.0)) == 0
    assert jb.get(0.0) is None and jb.concealed == 1  # packet 1 missing: the caller conceals
    put(jb, 1)  # its slot was already played out
    assert jb.late == 1
    put(jb, 2)  # still buffered
    assert jb.duplicates == 1
    assert played(jb.get(0.0)) == 2
    assert jb.get(0.0) is None  # nothing more (and the duplicate did not play twice)


def test_a_late_packet_grows_the_playout_delay_by_one_frame() -> None:
    jb = JitterBuffer(initial_frames=1, max_frames=3)
    put(jb, 0)
    jb.get(0.0)
    assert played(jb.get(0.0)) == 0
    assert jb.get(0.0) is None  # 1 is missing when its turn comes
    put(jb, 1)
    assert jb.late == 1 and jb.target == 2 and jb.delay_ms == 40.0
    put(jb, 2)
    assert jb.get(0.0) is None  # the cursor holds one tick: the delay grew
    assert played(jb.get(0.0)) == 2
    for i in range(3, 10):
        put(jb, i)
        put(jb, 1)  # ever later: the target stops at max_frames
    assert jb.target == 3


def test_timestamp_wraparound() -> None:
    jb = JitterBuffer(initial_frames=1)
    base = 2**32 - 320
    for i in range(5):
        put(jb, i, base)
    out = [played(jb.get(0.0)) for _ in range(6)]
    assert out == [None, 0, 1, 2, 3, 4]
    assert jb.late == 0


def test_a_timestamp_jump_resyncs_instead_of_waiting_or_counting_late() -> None:
    jb = JitterBuffer(initial_frames=1)
    for i in range(3):
        put(jb, i)
    assert [played(jb.get(0.0)) for _ in range(4)] == [None, 0, 1, 2]
    jb.put(7, 5_000_000, frame(7), 0.0)  # a new talk spurt far ahead (hold, restart)
    assert [played(jb.get(0.0)) for _ in range(2)] == [None, 7]
    jb.put(8, 1_000, frame(8), 0.0)  # far behind: a restarted source, not a late packet
    assert [played(jb.get(0.0)) for _ in range(2)] == [None, 8]
    assert jb.late == 0


def test_reset_forgets_the_stream_and_the_adapted_depth() -> None:
    jb = JitterBuffer(initial_frames=2, max_frames=5)
    put(jb, 10)
    for _ in range(3):
        jb.get(0.0)
    put(jb, 0)  # late: target 3
    assert jb.target == 3
    jb.reset()
    assert jb.target == 2 and jb.depth == 0 and jb.get(0.0) is None
    put(jb, 50)
    assert [played(jb.get(0.0)) for _ in range(3)] == [None, None, 50]


def simulate(jitter_s: float, n: int = 1500, seed: int = 1,
             clock_skew: float = 0.0) -> tuple[JitterBuffer, list[float]]:
    """A sender at 50 packets/s (its clock `clock_skew` fast), uniform network delay in
    [0, jitter_s], reordering allowed; a 20 ms playout tick. Returns the buffer and, for every
    frame played, its playout delay (tick time - send time) in ms."""
    rng = random.Random(seed)
    jb = JitterBuffer(min_frames=1, max_frames=10, initial_frames=2)
    period = TICK / (1.0 + clock_skew)
    arrivals = sorted((period * i + rng.uniform(0, jitter_s), i) for i in range(n))
    t, k, delays = 0.0, 0, []
    while t < period * n + 0.5:
        while k < len(arrivals) and arrivals[k][0] <= t:
            i = arrivals[k][1]
            jb.put(i & 0xFFFF, 160 * i, i.to_bytes(4, "big") * 40, arrivals[k][0])
            k += 1
        if (payload := jb.get(t)) is not None:
            delays.append(1000.0 * (t - period * int.from_bytes(payload[:4], "big")))
        t += TICK
    return jb, delays


def test_adapts_the_playout_delay_to_the_network_jitter() -> None:
    calm, calm_delays = simulate(0.002)
    rough, rough_delays = simulate(0.120)
    assert calm.late == 0 and len(calm_delays) + calm.dropped == 1500
    assert max(calm_delays) < 61  # 2 ms of jitter: 2-3 frames of delay
    assert calm.target == 1  # no late packet for SHRINK_WINDOW ticks: the target shrinks to the minimum
    assert 100 <= sorted(rough_delays)[len(rough_delays) // 2] <= 200  # grew with the jitter
    assert rough.late < 0.01 * 1500  # after adapting, little is lost to lateness
    assert len(rough_delays) > 0.99 * 1500


def test_a_fast_sender_clock_does_not_accumulate_delay() -> None:
    n = ADAPT_WINDOW * 40
    jb, delays = simulate(0.002, n=n, clock_skew=0.01)  # 1% fast: one surplus frame every 2 s
    assert jb.dropped > 0  # surplus frames dropped once per adapt window
    assert max(delays[-ADAPT_WINDOW:]) <= max(delays[:ADAPT_WINDOW]) + 20  # delay does not creep
    assert jb.late == 0 and len(delays) > 0.98 * n


def test_the_target_shrinks_only_after_a_quiet_window() -> None:
    jb = JitterBuffer(min_frames=1, max_frames=10, initial_frames=4)
    i = 0
    for _ in range(SHRINK_WINDOW - ADAPT_WINDOW):
        put(jb, i)
        jb.get(0.0)
        i += 1
    assert jb.target == 4  # no shrink before the window
    for _ in range(2 * ADAPT_WINDOW):
        put(jb, i)
        jb.get(0.0)
        i += 1
    assert jb.target == 3


# -- other packet durations: re-framed to the 20 ms tick ----------------------------------------
def stream_codes(seconds: float = 0.96) -> bytes:  # a whole number of packets of every ptime
    return bytes(i % 251 for i in range(int(8000 * seconds)))


def play_ptime(ptime_ms: int, codes: bytes, first_ts: int = 240,
               lose: frozenset[int] = frozenset()) -> tuple[JitterBuffer, list[bytes | None]]:
    """Send `codes` in packets of `ptime_ms` (packet indexes in `lose` never arrive), each at its
    send time, with a 20 ms playout tick; returns the buffer and every tick's frame."""
    jb = JitterBuffer(initial_frames=2)
    jb.silence = b"\xd5" * 160  # PCMA silence
    size = 8 * ptime_ms
    packets = [(k * ptime_ms / 1000, k) for k in range(len(codes) // size)]
    out: list[bytes | None] = []
    t, p = 0.0, 0
    while t < len(codes) / 8000 + 0.1:
        while p < len(packets) and packets[p][0] <= t + 1e-9:
            k = packets[p][1]
            if k not in lose:
                jb.put(k, (first_ts + k * size) & 0xFFFFFFFF, codes[k * size:(k + 1) * size], t)
            p += 1
        out.append(jb.get(t))
        t += TICK
    return jb, out


@pytest.mark.parametrize("ptime_ms", [10, 20, 30, 40, 60])
def test_any_ptime_plays_as_contiguous_160_sample_frames(ptime_ms: int) -> None:
    codes = stream_codes()
    jb, out = play_ptime(ptime_ms, codes)
    frames = [f for f in out if f is not None]
    assert all(len(f) == 160 for f in frames)
    assert b"".join(frames) == codes  # every sample, in order, none lost or repeated
    assert jb.late == 0 and jb.depth == 0


def test_a_lost_30ms_packet_leaves_silence_exactly_where_its_samples_were() -> None:
    codes = stream_codes()
    jb, out = play_ptime(30, codes, lose=frozenset({5}))  # samples 1200..1439
    played = b"".join(f if f is not None else b"\x00" * 160 for f in out[2:2 + len(codes) // 160])
    assert played[:1200] == codes[:1200] and played[1440:] == codes[1440:]
    # samples 1200..1279 are the end of a frame, 1280..1439 one whole frame: that one is not
    # received at all (None: the caller conceals), the partial one is completed with silence
    assert played[1200:1280] == b"\xd5" * 80 and played[1280:1440] == b"\x00" * 160
    assert jb.concealed >= 1


def test_a_packet_whose_head_is_late_still_plays_its_tail() -> None:
    jb = JitterBuffer(initial_frames=1, max_frames=5)
    codes = stream_codes(0.1)
    jb.put(0, 0, codes[:160], 0.0)
    assert jb.get(0.0) is None and jb.get(0.0) == codes[:160]
    assert jb.get(0.0) is None  # 160..319 not here yet
    jb.put(1, 240, codes[240:480], 0.0)  # 240..319 are late, 320..479 still to play
    assert jb.late == 1 and jb.target == 2
    assert jb.get(0.0) is None  # the delay grew by a frame
    assert jb.get(0.0) == codes[320:480]


def test_a_duplicate_30ms_packet_is_counted_for_its_whole_frames() -> None:
    jb = JitterBuffer(initial_frames=1)
    codes = stream_codes(0.1)
    jb.put(0, 0, codes[:240], 0.0)
    jb.put(1, 240, codes[240:480], 0.0)
    jb.put(1, 240, codes[240:480], 0.0)  # its whole frame 320..479 is already buffered
    assert jb.duplicates == 1
    assert [jb.get(0.0) for _ in range(4)] == [None, codes[:160], codes[160:320], codes[320:480]]
