"""The Smart Turn endpointer policy in the agent loop (in-memory leg, fake engines).

The model itself is tested on real speech in test_smart_turn.py; here a stand-in gives the
verdict, so what is checked is what the loop does with it.
"""

from __future__ import annotations

import time

import numpy as np
from voicelane.domain.agent import AgentSpec, FirstSpeaker
from voicelane_media.agent.audio import tone
from voicelane_media.agent.fakes import CannedLLM, QueuedSTT

SMART = AgentSpec(first_speaker=FirstSpeaker.USER, turn_detection="smart_turn")


class Verdict:
    """A TurnAnalyzer that answers `probability` and keeps the audio it was asked about."""

    def __init__(self, probability: float | Exception) -> None:
        self.answer = probability
        self.asked: list[tuple[bytes, int]] = []

    def probability(self, pcm: bytes, sample_rate: int) -> float:
        self.asked.append((pcm, sample_rate))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def test_complete_verdict_ends_the_turn_after_the_short_check(harness):
    verdict = Verdict(0.9)
    h = harness(SMART, CannedLLM(["Yes."]), ["hello"],
                turn_engine=verdict, endpointing_ms=500, smart_turn_check_ms=200, preroll_ms=300)
    h.start()
    # The line before the caller speaks: a sound from a call's very first frame is the room
    # to the background-voice gate once it has lasted 300 ms (agent/voice_gate.py).
    h.leg.feed_silence(200)
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(900)
    await h.until(lambda: h.leg.played_ms() > 0)
    outcome = await h.finish()
    metrics = outcome.transcript.metrics[0]
    assert metrics.turn_detection == "smart_turn" and metrics.end_of_turn_probability == 0.9
    assert metrics.endpoint_ms >= 200
    # What the loop added is measured against the 200 ms it waited, not the 500 ms window.
    assert metrics.platform_added_ms == round(metrics.voice_to_voice_ms - 200, 1)
    # The model heard the turn: pre-roll, the 400 ms of speech, the silence after it.
    (pcm, rate), = verdict.asked
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.nonzero(np.abs(samples) > 1000)[0]
    assert rate == 16000 and (loud[-1] - loud[0]) / 16000 >= 0.38
    assert len(samples) - loud[-1] >= 0.2 * 16000  # at least the checked silence


async def test_incomplete_verdict_waits_and_keeps_a_paused_caller_in_one_turn(harness):
    # Someone reading a card number pauses 700 ms mid-way: fixed 500 ms silence would reply
    # to half of it; the model's "not finished" holds the turn open for the rest.
    llm = CannedLLM(["Thanks."])
    h = harness(SMART, llm, ["four two", "one seven"],
                turn_engine=Verdict(0.1), endpointing_ms=500, turn_max_wait_ms=1500)
    h.start()
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(700)
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(2000)
    await h.until(lambda: h.leg.played_ms() > 0, timeout=8)
    outcome = await h.finish()
    callers = [t.text for t in outcome.transcript.turns if t.role == "caller"]
    assert callers == ["four two one seven"] and len(llm.seen) == 1
    metrics = outcome.transcript.metrics[0]
    assert metrics.endpoint_ms >= 1500 and metrics.end_of_turn_probability == 0.1


async def test_the_same_pause_with_silence_endpointing_splits_the_turn(harness):
    # `silence` is the default: the model is not asked even when the node has it.
    llm = CannedLLM(["Go on.", "Thanks."])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm,
                ["four two", "one seven"], turn_engine=Verdict(0.1), endpointing_ms=500)
    h.start()
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(700)
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(1500)
    await h.until(lambda: len(llm.seen) == 2, timeout=8)
    outcome = await h.finish()
    assert next(t.text for t in outcome.transcript.turns if t.role == "caller") == "four two"
    assert outcome.transcript.metrics[0].turn_detection == "silence"


async def test_a_failing_model_falls_back_to_fixed_silence(harness):
    h = harness(SMART, CannedLLM(["Yes."]), ["hello"],
                turn_engine=Verdict(RuntimeError("onnx broke")), endpointing_ms=500)
    h.start()
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(900)
    await h.until(lambda: h.leg.played_ms() > 0)
    outcome = await h.finish()
    metrics = outcome.transcript.metrics[0]
    assert metrics.endpoint_ms >= 500 and metrics.end_of_turn_probability is None
    assert metrics.platform_added_ms == round(metrics.voice_to_voice_ms - 500, 1)
    errors = [d for t, d in h.events if t == "agent.engine_error"]
    assert errors and errors[0]["stage"] == "turn"


async def test_the_model_is_asked_beside_the_stt_final_not_after_it(harness):
    # The model reads audio, the STT words: the verdict is asked as the check comes, while a
    # slow STT is still finalising, so its time is not added after the final.
    class TimedVerdict(Verdict):
        def probability(self, pcm: bytes, sample_rate: int) -> float:
            self.asked_at = time.monotonic()
            return super().probability(pcm, sample_rate)

    verdict = TimedVerdict(0.9)
    stt = QueuedSTT(["hello"], latency_s=0.6)
    h = harness(SMART, CannedLLM(["Yes."]), [], stt_engine=stt, turn_engine=verdict,
                smart_turn_check_ms=200)
    h.start()
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(1500)
    await h.until(lambda: h.leg.played_ms() > 0, timeout=8)
    outcome = await h.finish()
    metrics = outcome.transcript.metrics[0]
    speech_end = h.session.brain.speech_end[1]
    final_at = speech_end + metrics.stt_final_ms / 1000.0
    assert verdict.asked_at < final_at
    assert metrics.end_of_turn_probability == 0.9
