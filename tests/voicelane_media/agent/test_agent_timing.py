"""The agent's own turn-taking timing (AgentSpec.endpointing_ms / min_interruption_ms)."""

from __future__ import annotations

import pytest
from voicelane.domain.agent import AgentSpec, FirstSpeaker, NoiseSuppression, TurnDetection
from voicelane_media.agent import LoopSettings
from voicelane_media.agent.audio import tone
from voicelane_media.agent.fakes import CannedLLM
from voicelane_media.agent.settings import AGENT_OVERRIDES, for_agent

LONG_REPLY = "One two three four five six seven eight nine ten eleven twelve."


async def test_agent_endpointing_sets_when_the_turn_ends(harness):
    # The session was given the node default (500 ms); the agent asks for 1200 ms.
    h = harness(
        AgentSpec(first_speaker=FirstSpeaker.USER, endpointing_ms=1200),
        CannedLLM(["Yes."]),
        ["hello"],
        endpointing_ms=500,
    )
    h.start()
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(1500)
    await h.until(lambda: h.leg.played_ms() > 0)
    outcome = await h.finish()
    metrics = outcome.transcript.metrics[0]
    # The turn waited the agent's window, not the node's: no wall-clock upper bound (speed is
    # bench/agent_latency.py's figure), but what was subtracted as endpointing is 1200 ms.
    assert metrics.voice_to_voice_ms >= 1200
    assert metrics.platform_added_ms == pytest.approx(metrics.voice_to_voice_ms - 1200, abs=0.11)


async def test_agent_min_interruption_lets_a_short_burst_interrupt(harness):
    # 160 ms of speech is a cough at the default 300 ms (test_loop); this agent takes it.
    llm = CannedLLM([LONG_REPLY, "Okay."])
    h = harness(
        AgentSpec(first_speaker=FirstSpeaker.USER, min_interruption_ms=100),
        llm,
        ["go on", "wait"],
    )
    h.start()
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(600)
    await h.until(lambda: h.leg.played_ms() >= 400)
    h.leg.feed_pcm(tone(160, 16000))
    await h.until(lambda: bool(h.leg.clears))
    h.leg.feed_silence(800)
    await h.until(lambda: len(llm.seen) == 2)
    outcome = await h.finish()
    assert any(t.role == "agent" and t.interrupted for t in outcome.transcript.turns)


def test_agent_values_win_and_defaults_leave_the_node_settings() -> None:
    node = LoopSettings(endpointing_ms=800, min_interruption_ms=450)
    kept = for_agent(AgentSpec(), node)
    assert (kept.endpointing_ms, kept.min_interruption_ms) == (800, 450)
    tuned = for_agent(AgentSpec(endpointing_ms=250, min_interruption_ms=0), node)
    assert (tuned.endpointing_ms, tuned.min_interruption_ms) == (250, 0)
    assert node.endpointing_ms == 800  # the node's settings are not changed


# A value other than the AgentSpec default for each setting an agent can take over, and
# another one for the node.
OTHER_VALUES = {
    "endpointing_ms": (250, 800),
    "min_interruption_ms": (0, 450),
    "turn_detection": (TurnDetection.SMART_TURN, TurnDetection.SMART_TURN),
    "turn_max_wait_ms": (900, 3000),
    "preemptive_generation": (False, False),
    "noise_suppression": (NoiseSuppression.RNNOISE, NoiseSuppression.WEBRTC),
    "background_voice_gate": (False, False),
}


@pytest.mark.parametrize("name", sorted(OTHER_VALUES))
def test_each_agent_setting_wins_and_its_default_leaves_the_node_setting(name: str) -> None:
    agent_value, node_value = OTHER_VALUES[name]
    assert getattr(AgentSpec(), name) != agent_value
    assert getattr(for_agent(AgentSpec(**{name: agent_value}), LoopSettings()), name) \
        == agent_value
    node = LoopSettings(**{name: node_value})
    assert getattr(for_agent(AgentSpec(), node), name) == node_value


def test_the_settings_an_agent_takes_over_are_the_ones_tested_above() -> None:
    assert set(AGENT_OVERRIDES) == set(OTHER_VALUES)
