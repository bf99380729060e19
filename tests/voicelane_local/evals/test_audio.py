"""The caller's audio for a line: a cough, line noise at its level, voice bounds taken from the
clean audio (latencies count from the voice, not the noise), pauses of their length."""

from __future__ import annotations

import asyncio

import numpy as np
from voicelane_local.evals.audio import cough, noise_frames, render
from voicelane_local.evals.schema import Background, Line, Voice
from voicelane_media.sim.voice import level_dbfs, speech_bounds


def test_noise_frames_are_20_ms_at_the_asked_level() -> None:
    frames = noise_frames(Background(noise_dbfs=-45), seed=1)
    levels = [level_dbfs(frames()) for _ in range(50)]
    assert all(abs(level + 45) < 1.5 for level in levels), levels
    assert frames().shape == (160,)


def test_a_cough_on_a_noisy_line_keeps_the_clean_bounds() -> None:
    burst = cough()
    assert 0.2 <= burst.size / 8000 <= 0.25 and level_dbfs(burst) > -20
    clean = asyncio.run(render(Line(sound="cough", when="barge_in"), Voice(), None))
    noisy = asyncio.run(render(Line(sound="cough", when="barge_in"), Voice(),
                               Background(noise_dbfs=-40)))
    assert clean is not None and noisy is not None
    assert noisy[1] == clean[1] == speech_bounds(clean[0])
    assert 0.08 <= clean[1][0] <= 0.12  # 100 ms of lead-in before the cough
    lead_in = noisy[0][:640]  # the noise is there before the voice starts
    assert abs(level_dbfs(lead_in) + 40) < 2
    assert not np.array_equal(clean[0], noisy[0])


def test_a_dtmf_line_has_no_audio() -> None:
    assert asyncio.run(render(Line(dtmf="12#"), Voice(), None)) is None


def test_babble_is_other_voices_at_the_asked_level_and_loops_seamlessly() -> None:
    frames = noise_frames(Background(noise_dbfs=-40, kind="babble"), seed=2)
    loop = 12 * 8000 // 160
    first = np.concatenate([frames() for _ in range(loop)])
    again = np.concatenate([frames() for _ in range(50)])
    assert first.shape == (12 * 8000,)
    assert abs(level_dbfs(first) + 40) < 1.0  # the bed's RMS is the asked level
    assert np.array_equal(again, first[: 50 * 160])  # a loop: the call can be any length
    # speech, not noise: a voice's level moves (syllables, pauses), white noise's barely does
    levels = np.array([level_dbfs(first[i : i + 800]) for i in range(0, first.size, 800)])
    assert levels.std() > 1.5, levels.std()
    white = noise_frames(Background(noise_dbfs=-40), seed=2)
    white_levels = np.array([level_dbfs(np.concatenate([white() for _ in range(5)]))
                             for _ in range(120)])
    assert white_levels.std() < 0.5
