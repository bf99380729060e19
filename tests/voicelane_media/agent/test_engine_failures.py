"""An engine failing mid-call (a cloud LLM, TTS or STT erroring) never ends the call: the error
is recorded (no secrets in the log), the agent says the fallback reply, and the next turn works.
Engines holding resources are closed when the session ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from voicelane.domain.agent import AgentSpec, FirstSpeaker, ToolSpec
from voicelane_media.agent.audio import tone
from voicelane_media.agent.fakes import CannedLLM, QueuedSTT, ToneTTS
from voicelane_media.agent.providers import AudioChunk, ChatMessage, LLMEvent, TextDelta

FALLBACK = "Sorry, I'm having trouble right now."
SECRET = "sk-live-abcdef0123456789"


class FlakyLLM:
    """The first reply streams a few words, then the connection breaks; later replies work."""

    def __init__(self) -> None:
        self.calls = 0
        self.closed = 0

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[LLMEvent]:
        self.calls += 1
        if self.calls == 1:
            yield TextDelta(text="Let me check")
            await asyncio.sleep(0)
            raise ConnectionError(f"stream reset (Authorization: Bearer {SECRET})")
        yield TextDelta(text="Monday is free.")

    async def aclose(self) -> None:
        self.closed += 1


class FlakyTTS(ToneTTS):
    """Fails on any sentence with "boom" in it."""

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        if "boom" in text.lower():
            raise TimeoutError("polly read timed out")
        async for chunk in super().synthesize(text):
            yield chunk


class BrokenSTT(QueuedSTT):
    """The first utterance's stream fails while its result is read; later ones work."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__(texts)
        self.opened = 0

    def open_stream(self, sample_rate: int):  # type: ignore[no-untyped-def]
        self.opened += 1
        stream = super().open_stream(sample_rate)
        if self.opened == 1:

            async def fail() -> AsyncIterator[object]:
                raise OSError("transcribe stream closed by the service")
                yield  # pragma: no cover

            stream.results = fail  # type: ignore[method-assign,assignment]
        return stream


async def speak(h, ms: int = 400, silence_ms: int = 800) -> None:  # type: ignore[no-untyped-def]
    h.leg.feed_pcm(tone(ms, 16000))
    h.leg.feed_silence(silence_ms)


def agent_texts(outcome) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.text for t in outcome.transcript.turns if t.role == "agent"]


async def test_llm_error_mid_stream_says_the_fallback_and_the_call_goes_on(harness, caplog):
    caplog.set_level(logging.WARNING)
    llm = FlakyLLM()
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm, ["is monday free", "and monday"])
    h.start()
    await speak(h)
    await h.until(lambda: any(t == "agent.engine_error" for t, _ in h.events))
    await h.until(lambda: not h.session.agent_busy())
    played_first = h.leg.played_ms()
    await speak(h)
    await h.until(lambda: llm.calls == 2 and not h.session.agent_busy())
    outcome = await h.finish()

    assert agent_texts(outcome) == [f"Let me check. {FALLBACK}", "Monday is free."]
    # "Let me check. Sorry, I'm having trouble right now." = 8 words of 200 ms, all played
    assert played_first >= 8 * 200 - 20
    error = next(d for t, d in h.events if t == "agent.engine_error")
    assert error == {"stage": "llm", "error": "ConnectionError", "count": 1}
    assert outcome.reason == "caller_hangup" and llm.closed == 1
    assert "ConnectionError" in caplog.text and SECRET not in caplog.text
    assert SECRET not in str(h.events)


async def test_a_tts_failure_skips_the_sentence_not_the_call(harness):
    h = harness(
        AgentSpec(first_speaker=FirstSpeaker.USER),
        CannedLLM(["Boom goes the first. Then three words.", "Still here."]),
        ["hello", "again"],
        tts_engine=FlakyTTS(ms_per_word=100),
    )
    h.start()
    await speak(h)
    await h.until(lambda: h.leg.played_ms() > 0)
    await h.until(lambda: not h.session.agent_busy())
    assert 280 <= h.leg.played_ms() <= 320  # only "Then three words." (3 x 100 ms)
    await speak(h)
    await h.until(lambda: h.leg.played_ms() > 400 and not h.session.agent_busy())
    outcome = await h.finish()
    assert [d["stage"] for t, d in h.events if t == "agent.engine_error"] == ["tts"]
    assert agent_texts(outcome)[-1] == "Still here." and outcome.reason == "caller_hangup"


async def test_an_stt_failure_gets_the_fallback_and_the_next_utterance_is_heard(harness):
    llm = CannedLLM(["Sure."])
    stt = BrokenSTT(["lost words", "book monday"])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm, [], stt_engine=stt)
    h.start()
    await speak(h)
    await h.until(lambda: h.leg.played_ms() > 0)
    await h.until(lambda: not h.session.agent_busy())
    await speak(h)
    await h.until(lambda: len(llm.seen) == 1 and not h.session.agent_busy())
    outcome = await h.finish()
    assert [d["stage"] for t, d in h.events if t == "agent.engine_error"] == ["stt"]
    turns = [(t.role, t.text) for t in outcome.transcript.turns]
    assert turns == [("agent", FALLBACK), ("caller", "book monday"), ("agent", "Sure.")]


async def test_the_fallback_reply_is_configurable(harness):
    fallback = "One moment please."
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), FlakyLLM(), ["hi"],
                fallback_reply=fallback)
    h.start()
    await speak(h)
    await h.until(lambda: any(t == "agent.engine_error" for t, _ in h.events))
    await h.until(lambda: not h.session.agent_busy())
    outcome = await h.finish()
    assert agent_texts(outcome) == [f"Let me check. {fallback}"]
