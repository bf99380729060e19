"""Two-step barge-in on the in-memory leg: pause at the caller's onset, then resume or clear.

ToneTTS renders each word as 200 ms of tone, so what the caller heard is a count of 20 ms
chunks, and the words heard follow from it exactly.
"""

from __future__ import annotations

from voicelane.domain.agent import AgentSpec, FirstSpeaker
from voicelane_media.agent.audio import tone
from voicelane_media.agent.fakes import CannedLLM

WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen"]
LONG_REPLY = " ".join(WORDS) + " fifteen."
REPLY_MS = 15 * 200


def _events(h, kind):  # type: ignore[no-untyped-def]
    return [d for t, d in h.events if t == kind]


async def _reply_playing(h, ms: float = 400):  # type: ignore[no-untyped-def]
    h.start()
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(600)
    await h.until(lambda: h.leg.played_ms() >= ms)


async def test_cough_pauses_then_resumes_and_the_whole_reply_is_heard(harness):
    llm = CannedLLM([LONG_REPLY])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm, ["go on", ""],
                turn_detection="silence", min_interruption_ms=300)
    await _reply_playing(h)
    h.leg.feed_pcm(tone(150, 16000))  # a cough
    await h.until(lambda: bool(h.leg.clears))  # paused at its onset
    paused_at = h.leg.clears[0]
    h.leg.feed_silence(1500)
    await h.until(lambda: bool(_events(h, "agent.interruption.ignored")))
    await h.until(lambda: not h.session.agent_busy(), timeout=8)
    outcome = await h.finish()

    # Nothing played while paused (the cough and the VAD's 200 ms to call it over).
    resumed = [c.at for c in h.leg.played if c.at > paused_at]
    assert resumed and resumed[0] - paused_at >= 0.15
    # Every 20 ms chunk of the reply was heard once: nothing lost, nothing played twice.
    assert h.leg.played_ms() == REPLY_MS
    assert len(h.leg.clears) == 1
    ignored = _events(h, "agent.interruption.ignored")[0]
    assert ignored["reason"] == "short" and ignored["speech_ms"] < 300
    agent = next(t for t in outcome.transcript.turns if t.role == "agent")
    assert not agent.interrupted
    assert [t.text for t in outcome.transcript.turns if t.role == "caller"] == ["go on"]
    assert len(llm.seen) == 1 and _events(h, "agent.interrupted") == []


async def test_backchannel_by_its_transcript_resumes(harness):
    llm = CannedLLM([LONG_REPLY])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm, ["go on", "Mm-hmm."],
                turn_detection="silence", min_interruption_ms=300, backchannel_max_ms=900)
    await _reply_playing(h)
    h.leg.feed_pcm(tone(500, 16000))  # long enough to be words: STT decides
    h.leg.feed_silence(1500)
    await h.until(lambda: bool(_events(h, "agent.interruption.ignored")))
    await h.until(lambda: not h.session.agent_busy(), timeout=8)
    outcome = await h.finish()
    assert _events(h, "agent.interruption.ignored")[0]["reason"] == "backchannel"
    assert h.leg.played_ms() == REPLY_MS
    assert [t.text for t in outcome.transcript.turns if t.role == "caller"] == ["go on"]
    assert len(llm.seen) == 1


async def test_real_interruption_clears_and_heard_text_is_exact(harness):
    llm = CannedLLM([LONG_REPLY, "Okay."])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm, ["go on", "stop please"],
                turn_detection="silence", min_interruption_ms=300, backchannel_max_ms=900)
    await _reply_playing(h, 1000)
    h.leg.feed_pcm(tone(600, 16000))
    h.leg.feed_silence(900)
    await h.until(lambda: len(llm.seen) == 2)
    heard_ms = h.leg.played_ms()  # nothing of the first reply played after the pause
    outcome = await h.finish()

    assert _events(h, "agent.interruption.ignored") == []
    stop = _events(h, "agent.interrupted")[0]
    assert stop["barge_in_stop_ms"] >= 0
    agent = next(t for t in outcome.transcript.turns if t.role == "agent")
    assert agent.interrupted
    assert agent.heard_text == " ".join(WORDS[: int(15 * heard_ms / REPLY_MS)])
    assert [t.text for t in outcome.transcript.turns if t.role == "caller"] == [
        "go on", "stop please"]
    memory = [m for m in llm.seen[1] if m.role == "assistant"]
    assert memory[-1].content == agent.heard_text


async def test_resume_then_interruption_keeps_heard_text_exact(harness):
    llm = CannedLLM([LONG_REPLY, "Okay."])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm, ["go on", "", "wait a second"],
                turn_detection="silence", min_interruption_ms=300, backchannel_max_ms=900)
    await _reply_playing(h, 400)
    h.leg.feed_pcm(tone(120, 16000))  # a click: pause, resume
    h.leg.feed_silence(300)
    await h.until(lambda: bool(_events(h, "agent.interruption.ignored")))
    await h.until(lambda: h.leg.played_ms() >= 1400)
    h.leg.feed_pcm(tone(1000, 16000))  # longer than any backchannel: interrupts while speaking
    await h.until(lambda: bool(_events(h, "agent.interrupted")))
    heard_ms = h.leg.played_ms()
    h.leg.feed_silence(900)
    await h.until(lambda: len(llm.seen) == 2)
    outcome = await h.finish()
    agent = next(t for t in outcome.transcript.turns if t.role == "agent")
    assert 1400 <= heard_ms < REPLY_MS
    assert agent.heard_text == " ".join(WORDS[: int(15 * heard_ms / REPLY_MS)])
    assert h.leg.played_ms() - heard_ms <= 600  # only the short "Okay." came after


async def test_not_interruptible_agent_never_pauses(harness):
    llm = CannedLLM([LONG_REPLY])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER, interruptible=False), llm,
                ["go on", "stop"], turn_detection="silence")
    await _reply_playing(h)
    h.leg.feed_pcm(tone(600, 16000))
    h.leg.feed_silence(900)
    await h.until(lambda: not h.session.agent_busy(), timeout=8)
    await h.finish()
    assert h.leg.clears == [] and h.leg.played_ms() == REPLY_MS
    assert _events(h, "agent.interruption.ignored") == [] and len(llm.seen) == 1


async def test_blip_too_short_for_a_segment_pauses_then_resumes_unreported(harness):
    llm = CannedLLM([LONG_REPLY])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm, ["go on"],
                turn_detection="silence", vad_start_ms=60, barge_in_pause_ms=20)
    await _reply_playing(h)
    h.leg.feed_pcm(tone(40, 16000))  # two speech frames: under vad_start_ms
    h.leg.feed_silence(300)
    await h.until(lambda: bool(h.leg.clears))
    await h.until(lambda: not h.session.agent_busy(), timeout=8)
    outcome = await h.finish()
    # Paused once, resumed where it paused: every chunk heard once, no event, no caller turn.
    assert len(h.leg.clears) == 1 and h.leg.played_ms() == REPLY_MS
    assert _events(h, "agent.interruption.ignored") == []
    assert _events(h, "agent.interrupted") == []
    assert [t.text for t in outcome.transcript.turns if t.role == "caller"] == ["go on"]
    assert [m.onset_pauses for m in outcome.transcript.metrics if m.onset_pauses] == [1]


async def _stop_ms(harness, pause_ms: int) -> float:  # type: ignore[no-untyped-def]
    llm = CannedLLM([LONG_REPLY, "Okay."])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm, ["go on", "stop please"],
                turn_detection="silence", vad_start_ms=80, barge_in_pause_ms=pause_ms)
    await _reply_playing(h, 600)
    h.leg.feed_pcm(tone(1000, 16000))
    h.leg.feed_silence(900)
    await h.until(lambda: len(llm.seen) == 2)
    await h.finish()
    return float(_events(h, "agent.interrupted")[0]["barge_in_stop_ms"])


async def test_agent_audio_pauses_at_the_first_speech_frame_not_at_the_segment(harness):
    at_onset = await _stop_ms(harness, 20)
    at_segment = await _stop_ms(harness, 80)
    # Counted from the caller's first sound: one 20 ms frame, against vad_start_ms's four.
    assert at_onset < 45
    assert at_segment - at_onset >= 40
