"""calls/recording.py: the call's stereo WAV from its transport's two taps, channels aligned on
a frame clock whichever direction is silent, paused time left out (no transport, no asyncio)."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from voicelane_media.calls.recording import MAX_LAG_MS, CallRecorder
from voicelane_media.codecs.g711 import Int16Array

RATE = 8000
FRAME = RATE // 50


def frames(n: int, start: int = 0, rate: int = RATE) -> list[Int16Array]:
    """``n`` distinct 20 ms frames: frame ``k`` holds the value ``start + k + 1`` everywhere."""
    size = rate // 50
    return [np.full(size, start + k + 1, dtype=np.int16) for k in range(n)]


def read(wav: bytes) -> tuple[tuple[int, int, int], np.ndarray]:
    with wave.open(io.BytesIO(wav)) as w:
        header = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        stereo = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return header, stereo


def frame_values(channel: np.ndarray, size: int = FRAME) -> list[int]:
    """The value of each frame of a channel built from :func:`frames` (0: silence)."""
    blocks = channel.reshape(-1, size)
    assert (blocks == blocks[:, :1]).all(), "a frame was split: the channel is misaligned"
    return [int(v) for v in blocks[:, 0]]


def ticks(rec: CallRecorder, caller: list[Int16Array | None], sent: list[Int16Array]) -> None:
    """As the RTP session does it: each tick the caller's frame (if any), then the sent one."""
    for heard, out in zip(caller, sent, strict=True):
        if heard is not None:
            rec.caller(heard)
        rec.playout(out)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_the_wav_is_stereo_pcm16_at_the_transports_rate(rate: int) -> None:
    rec = CallRecorder(rate)
    rec.start()
    for heard, out in zip(frames(50, 0, rate), frames(50, 100, rate), strict=True):
        rec.caller(heard)
        rec.playout(out)
    assert rec.duration_s == pytest.approx(1.0)
    header, stereo = read(rec.stop())
    assert header == (2, 2, rate)
    assert stereo.shape == (rate, 2)
    assert frame_values(stereo[:, 0], rate // 50) == list(range(1, 51))  # caller left
    assert frame_values(stereo[:, 1], rate // 50) == list(range(101, 151))  # platform right


def test_a_caller_who_starts_late_is_placed_at_the_time_they_spoke() -> None:
    rec = CallRecorder(RATE)
    rec.start()
    sent = frames(20, 100)
    ticks(rec, [None] * 3 + list(frames(17)), sent)  # the first packet comes 60 ms in
    _, stereo = read(rec.stop())
    assert frame_values(stereo[:, 1]) == list(range(101, 121))  # the platform is not shifted
    assert frame_values(stereo[:, 0]) == [0, 0, 0, *range(1, 18)]


def test_a_silent_gap_of_the_caller_does_not_shift_either_channel() -> None:
    rec = CallRecorder(RATE)
    rec.start()
    gap = MAX_LAG_MS // 20 + 10  # a hold: no caller frames for 300 ms
    heard: list[Int16Array | None] = [*frames(5), *([None] * gap), *frames(5, 50)]
    ticks(rec, heard, frames(len(heard), 100))
    _, stereo = read(rec.stop())
    assert frame_values(stereo[:, 0]) == [1, 2, 3, 4, 5, *([0] * gap), 51, 52, 53, 54, 55]
    assert frame_values(stereo[:, 1]) == list(range(101, 101 + len(heard)))


def test_a_caller_with_no_audio_at_all_gives_a_silent_left_channel() -> None:
    rec = CallRecorder(RATE)
    rec.start()
    ticks(rec, [None] * 10, frames(10, 100))
    _, stereo = read(rec.stop())
    assert not stereo[:, 0].any() and frame_values(stereo[:, 1]) == list(range(101, 111))


@pytest.mark.parametrize(("late_first", "silence"), [(True, 10), (False, 11)])
def test_a_direction_that_starts_late_is_padded_and_the_other_keeps_its_time(
        late_first: bool, silence: int) -> None:
    rec = CallRecorder(RATE)
    rec.start()
    for frame in frames(10):  # only the caller: the playout tap has not started yet
        rec.caller(frame)
    for heard, out in zip(frames(5, 10), frames(5, 100), strict=True):
        first, second = (rec.playout, rec.caller) if late_first else (rec.caller, rec.playout)
        first(out if late_first else heard)
        second(heard if late_first else out)
    _, stereo = read(rec.stop())
    assert frame_values(stereo[:, 0])[:15] == list(range(1, 16))
    # exact when the late direction's frame comes first in its tick (the RTP session's caller
    # frame does); else its same-tick frame is already counted: late by that one frame
    assert frame_values(stereo[:, 1])[: silence + 5] == [*([0] * silence), *range(101, 106)]


def test_frames_a_little_late_catch_up_without_silence_or_drift() -> None:
    # a tap with jitter (frames held up 60 ms, then four at once), again and again: nothing
    # is padded, and the length stays that of real time
    rec = CallRecorder(RATE)
    rec.start()
    heard = iter(frames(301))
    pending = 0
    for tick, out in enumerate(frames(301, 1000)):
        pending += 1
        if tick % 4 == 0:
            for _ in range(pending):
                rec.caller(next(heard))
            pending = 0
        rec.playout(out)
    _, stereo = read(rec.stop())
    assert frame_values(stereo[:, 0]) == list(range(1, 302))
    assert frame_values(stereo[:, 1]) == list(range(1001, 1302))


def test_pause_leaves_the_paused_time_out_and_resumes_aligned() -> None:
    rec = CallRecorder(RATE)
    rec.start()
    ticks(rec, list(frames(5)), frames(5, 100))
    rec.pause()
    ticks(rec, list(frames(10, 10)), frames(10, 200))  # ignored
    rec.resume()
    rec.resume()  # a second resume changes nothing
    ticks(rec, [None, None, *frames(3, 30)], frames(5, 300))  # the caller comes back 40 ms in
    assert rec.duration_s == pytest.approx(0.2)
    _, stereo = read(rec.stop())
    assert frame_values(stereo[:, 0]) == [1, 2, 3, 4, 5, 0, 0, 31, 32, 33]
    assert frame_values(stereo[:, 1]) == [101, 102, 103, 104, 105, 301, 302, 303, 304, 305]


def test_a_pause_after_one_sided_audio_starts_the_next_part_level() -> None:
    rec = CallRecorder(RATE)
    rec.start()
    for frame in frames(4, 100):
        rec.playout(frame)
    rec.pause()
    rec.resume()
    ticks(rec, list(frames(2)), frames(2, 200))
    _, stereo = read(rec.stop())
    assert frame_values(stereo[:, 0]) == [0, 0, 0, 0, 1, 2]
    assert frame_values(stereo[:, 1]) == [101, 102, 103, 104, 201, 202]


def test_stop_without_start_is_empty_and_start_begins_again() -> None:
    rec = CallRecorder(RATE)
    rec.caller(frames(1)[0])  # not started: ignored
    assert rec.stop() == b""
    rec.start()
    ticks(rec, list(frames(3)), frames(3, 100))
    rec.start()
    ticks(rec, list(frames(2, 10)), frames(2, 200))
    _, stereo = read(rec.stop())
    assert frame_values(stereo[:, 0]) == [11, 12] and frame_values(stereo[:, 1]) == [201, 202]
    assert rec.stop() == b"" and not rec.active


def test_frames_of_any_shape_and_dtype_are_taken_as_int16_samples() -> None:
    rec = CallRecorder(RATE)
    rec.start()
    rec.playout(np.arange(2 * FRAME, dtype=np.int16)[::2])  # a strided view
    rec.caller(np.full((FRAME,), 7, dtype=np.int32))  # type: ignore[arg-type]  # wider ints
    _, stereo = read(rec.stop())
    assert np.array_equal(stereo[:, 1], np.arange(0, 2 * FRAME, 2))
    assert (stereo[:, 0] == 7).all()
    with pytest.raises(ValueError):
        CallRecorder(0)
