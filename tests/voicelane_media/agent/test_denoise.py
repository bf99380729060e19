"""Noise suppression of the caller's audio: real RNNoise and WebRTC NS on real (espeak) speech.

SNR is measured against the clean speech, at the lag that fits best (each engine delays its
output by a frame or two), on a phone line's 8 kHz and a 16 kHz leg.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from voicelane.domain.agent import AgentSpec, FirstSpeaker, NoiseSuppression
from voicelane_media.agent import LoopSettings
from voicelane_media.agent.audio import tone
from voicelane_media.agent.denoise import (
    NoiseFilter,
    RNNoiseSuppressor,
    WebRTCSuppressor,
    build_suppressor,
)
from voicelane_media.agent.fakes import CannedLLM
from voicelane_media.agent.local_engines import EspeakTTS, WhisperSTT
from voicelane_media.agent.settings import for_agent
from voicelane_media.codecs.resample import resample_pcm16

SENTENCE = "Please call me tomorrow morning."


async def _espeak(rate: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    chunks = [c async for c in EspeakTTS().synthesize(SENTENCE)]
    pcm = b"".join(resample_pcm16(c.pcm, c.sample_rate, rate) for c in chunks)
    speech = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    pad = np.zeros(rate // 2)
    return np.concatenate([pad, speech, pad])


@pytest.fixture(scope="module")
def speech() -> dict[int, np.ndarray[Any, np.dtype[np.float64]]]:
    return {rate: asyncio.run(_espeak(rate)) for rate in (8000, 16000)}


def _mix(clean: np.ndarray[Any, Any], noise: np.ndarray[Any, Any], snr_db: float) -> bytes:
    noise = noise * np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return np.clip(clean + noise, -32768, 32767).astype("<i2").tobytes()


def _through(suppressor: Any, pcm: bytes, rate: int, ms: int = 20) -> bytes:
    size = rate * ms // 1000 * 2
    return b"".join(suppressor.process(pcm[i : i + size], rate) for i in range(0, len(pcm), size))


def _snr(clean: np.ndarray[Any, Any], pcm: bytes, rate: int) -> float:
    """SNR (dB) of `pcm` against `clean`, at the best lag up to 40 ms."""
    heard = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    best = -99.0
    for lag in range(0, rate // 25):
        ref = clean[: heard.size - lag]
        err = heard[lag : lag + ref.size] - ref
        best = max(best, 10 * np.log10(np.sum(ref**2) / np.sum(err**2)))
    return best


@pytest.mark.parametrize("rate", [8000, 16000])
def test_rnnoise_lifts_the_snr_of_speech_in_white_noise(speech, rate):
    # Babble (other voices) it does not lift: bench/noise_suppression.py prints that figure.
    clean = speech[rate]
    noisy = _mix(clean, np.random.default_rng(7).normal(0, 1, clean.size), 5.0)
    before = _snr(clean, noisy, rate)
    after = _snr(clean, _through(RNNoiseSuppressor(), noisy, rate), rate)
    assert 4.0 < before < 6.0
    assert after >= before + 3.0, (before, after)


def test_webrtc_ns_lifts_the_snr_of_speech_in_white_noise(speech):
    clean = speech[8000]
    noisy = _mix(clean, np.random.default_rng(7).normal(0, 1, clean.size), 5.0)
    after = _snr(clean, _through(WebRTCSuppressor(), noisy, 8000), 8000)
    assert after > _snr(clean, noisy, 8000) + 0.3


@pytest.mark.parametrize("kind", ["rnnoise", "webrtc"])
def test_any_frame_size_comes_back_the_same_length_and_barely_delayed(speech, kind):
    clean = speech[8000].astype("<i2").tobytes()
    for ms in (20, 30, 7):  # 20 ms fits the engines' frames; others are buffered
        out = _through(build_suppressor(kind), clean, 8000, ms)
        assert len(out) == len(clean)
        assert _snr(speech[8000], out, 8000) > 3.0  # clean speech goes through, aligned


@pytest.fixture(scope="module")
def whisper() -> WhisperSTT:
    return WhisperSTT()


@pytest.mark.parametrize("kind", ["rnnoise", "webrtc"])
def test_clean_speech_stays_recognisable(speech, whisper, kind):
    pcm = _through(build_suppressor(kind), speech[8000].astype("<i2").tobytes(), 8000)
    words = {w.strip(".,!?").lower() for w in whisper.transcribe(
        resample_pcm16(pcm, 8000, 16000)).split()}
    assert {"call", "tomorrow", "morning"} <= words


def test_the_setting_is_validated_and_off_means_no_suppressor():
    assert AgentSpec().noise_suppression is NoiseSuppression.OFF
    assert build_suppressor("off") is None
    chosen = for_agent(AgentSpec(noise_suppression="rnnoise"), LoopSettings())
    assert chosen.noise_suppression is NoiseSuppression.RNNOISE
    with pytest.raises(ValidationError):
        AgentSpec.model_validate({"noise_suppression": "loud"})


class Broken:
    name = "broken"

    def process(self, pcm: bytes, sample_rate: int) -> bytes:
        raise RuntimeError("native code fell over")


async def test_the_filter_runs_first_and_a_failing_one_lets_the_call_go_on(harness):
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), CannedLLM(["Yes."]), ["hello"])
    assert not isinstance(h.session.pipeline.processors[0], NoiseFilter)
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), CannedLLM(["Yes."]), ["hello"],
                noise_engine=Broken())
    assert isinstance(h.session.pipeline.processors[0], NoiseFilter)
    h.start()
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(800)
    await h.until(lambda: h.leg.played_ms() > 0)
    outcome = await h.finish()
    assert [t.text for t in outcome.transcript.turns if t.role == "caller"] == ["hello"]
    errors = [d for t, d in h.events if t == "agent.engine_error"]
    assert [e["stage"] for e in errors] == ["noise"]
