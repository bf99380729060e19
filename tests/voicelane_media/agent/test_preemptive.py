"""Preemptive generation: the reply is prepared while the caller pauses, used only for the turn
it was prepared for, never spoken (nor its tools run) for a turn that did not end.

The processor tests drive turn-taking and the brain with frames and give the LLM a manual
clock: its latency is counted in that clock's milliseconds, not the machine's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from pydantic import ValidationError
from voicelane.domain.agent import AgentSpec, FirstSpeaker, ToolSpec
from voicelane_media.agent import InMemoryLeg, LoopSettings
from voicelane_media.agent.audio import tone
from voicelane_media.agent.brain import Brain
from voicelane_media.agent.fakes import CannedLLM, ToneTTS
from voicelane_media.agent.frames import (
    AgentReplyDone,
    Direction,
    FinalTranscript,
    Frame,
    LLMToken,
    SpeechPrepare,
    TTSAudio,
    TurnPaused,
    TurnResumed,
    UserTurn,
    VADStart,
    VADStop,
)
from voicelane_media.agent.pipeline import Pipeline, Processor
from voicelane_media.agent.providers import (
    AudioChunk,
    ChatMessage,
    LLMEvent,
    TextDelta,
    ToolCallRequest,
)
from voicelane_media.agent.recorder import ConversationRecorder
from voicelane_media.agent.scripted import ScriptedDialogue
from voicelane_media.agent.speech import TTSProcessor, first_sentence
from voicelane_media.agent.tools import ToolRunner
from voicelane_media.agent.turns import TurnTaking

LATENCY_MS = 300.0


class ManualClock:
    """Milliseconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self._tick = asyncio.Event()

    async def until(self, at: float) -> None:
        while self.now < at:
            self._tick.clear()
            await self._tick.wait()

    def advance(self, ms: float) -> None:
        self.now += ms
        self._tick.set()


class EchoLLM:
    """A stateless LLM that takes LATENCY_MS of the manual clock, then answers "You said X."
    (or calls the transfer tool when X ends with `tool_on`)."""

    def __init__(self, clock: ManualClock, tool_on: str = "") -> None:
        self.clock = clock
        self.tool_on = tool_on
        self.asked: list[str] = []

    def fork(self) -> EchoLLM:
        return self

    def adopt(self, fork: object) -> None:
        return None

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[LLMEvent]:
        last = messages[-1]
        if last.role == "tool":
            yield TextDelta(text="Transferring.")
            return
        self.asked.append(last.content)
        await self.clock.until(self.clock.now + LATENCY_MS)
        if self.tool_on and last.content.endswith(self.tool_on):
            yield ToolCallRequest(call_id="c1", name="human", arguments={"target": "+15550100"})
            return
        yield TextDelta(text=f"You said {last.content}.")


class Tap(Processor):
    """Keeps the frames that pass it, with the clock's time, and forwards them."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.seen: list[tuple[float, Frame]] = []

    async def process(self, frame: Frame, direction: Direction) -> None:
        self.seen.append((self.clock.now, frame))
        await self.push(frame, direction)

    def tokens(self) -> str:
        return "".join(f.text for _, f in self.seen if isinstance(f, LLMToken))

    def first_token_at(self) -> float | None:
        return next((at for at, f in self.seen if isinstance(f, LLMToken)), None)


class ClockTTS:
    """Takes TTS_MS of the manual clock per sentence, then gives 100 ms of tone."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.texts: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.texts.append(text)
        await self.clock.until(self.clock.now + TTS_MS)
        yield AudioChunk(pcm=tone(100, 16000), sample_rate=16000)


TTS_MS = 200.0


class Loop:
    """Turn-taking -> brain -> tap (-> TTS -> audio tap), fed frames as VAD and STT would."""

    def __init__(self, llm: EchoLLM, preemptive: bool, endpointing_ms: int = 300,
                 tts: ClockTTS | None = None) -> None:
        self.leg = InMemoryLeg()
        settings = LoopSettings(endpointing_ms=endpointing_ms, preemptive_generation=preemptive)
        self.tools = ToolRunner([ToolSpec(name="human", type="transfer")], self.leg)
        recorder = ConversationRecorder()
        self.brain = Brain(llm, self.tools, recorder, settings, "test")
        self.turns = TurnTaking(settings, agent_busy=lambda: self.brain.replying)
        self.decided = Tap(llm.clock)  # what turn-taking tells the brain
        self.tap = Tap(llm.clock)  # what the brain sends on towards TTS
        self.audio = Tap(llm.clock)  # what the TTS sends on towards the leg
        after = [TTSProcessor(tts, 16000, recorder), self.audio] if tts is not None else []
        self.pipeline = Pipeline([self.turns, self.decided, self.brain, self.tap, *after])

    async def say(self, text: str) -> None:
        now = time.monotonic()
        await self.pipeline.push(VADStart(speech_at=now - 0.3))
        await self.pipeline.push(VADStop(speech_end_at=now, speech_ms=300))
        await self.pipeline.push(FinalTranscript(text=text, speech_end_at=now))

    def frames(self, kind: type[Frame]) -> list[Any]:
        return [f for _, f in self.decided.seen + self.tap.seen if isinstance(f, kind)]

    def audio_frames(self) -> list[TTSAudio]:
        return [f for _, f in self.audio.seen if isinstance(f, TTSAudio)]


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def _first_token_ms(preemptive: bool) -> tuple[float, Loop]:
    """Fake ms from the turn's end (UserTurn) to the reply's first text."""
    clock = ManualClock()
    llm = EchoLLM(clock)
    loop = Loop(llm, preemptive, endpointing_ms=600)
    await loop.say("book monday")
    if preemptive:
        await _until(lambda: bool(llm.asked))
    clock.advance(400)  # the caller stays silent: 400 ms of the LLM's time pass in the pause
    await _until(lambda: bool(loop.frames(UserTurn)))
    ended_at = next(at for at, f in loop.decided.seen if isinstance(f, UserTurn))
    while True:  # the clock moves on only while no text came (the reply task runs first)
        await asyncio.sleep(0.01)
        if loop.tap.first_token_at() is not None:
            break
        clock.advance(20)
        assert clock.now < 5000
    first = loop.tap.first_token_at()
    assert first is not None
    await _until(lambda: bool(loop.frames(AgentReplyDone)))
    await loop.pipeline.close()
    return first - ended_at, loop


async def test_a_pause_that_ends_the_turn_uses_the_prepared_reply_sooner():
    without, plain = await _first_token_ms(preemptive=False)
    with_, loop = await _first_token_ms(preemptive=True)
    # Without preemption the LLM's whole latency follows the end of the turn; with it the
    # LLM ran during the pause and its text follows the turn at once.
    assert without >= LATENCY_MS and with_ == 0.0
    assert loop.tap.tokens() == plain.tap.tokens() == "You said book monday."
    assert loop.frames(TurnPaused)[0].text == "book monday"
    stats = loop.brain.preemption
    assert (stats.started, stats.used, stats.discarded) == (1, 1, 0)
    assert loop.brain.recorder.metrics[1].preemptive is True
    assert plain.brain.preemption.started == 0 and not plain.frames(TurnPaused)
    assert plain.brain.recorder.metrics[1].preemptive is False


async def test_a_pause_then_more_words_throws_the_prepared_reply_away():
    clock = ManualClock()
    llm = EchoLLM(clock)
    loop = Loop(llm, preemptive=True, endpointing_ms=800)
    await loop.say("four two")
    await _until(lambda: llm.asked == ["four two"])
    clock.advance(400)  # the prepared reply to "four two" is complete, in memory
    await asyncio.sleep(0.02)
    await loop.say("one seven")  # the caller goes on before the endpointer decided
    await _until(lambda: llm.asked == ["four two", "four two one seven"])
    clock.advance(400)
    await _until(lambda: bool(loop.frames(AgentReplyDone)))
    await loop.pipeline.close()
    assert [f.text for f in loop.frames(UserTurn)] == ["four two one seven"]
    assert loop.tap.tokens() == "You said four two one seven."  # never "You said four two."
    assert len(loop.frames(TurnResumed)) == 1
    stats = loop.brain.preemption
    assert (stats.started, stats.used, stats.discarded) == (2, 1, 1)
    # The memory holds the turn as it ended, and one reply.
    roles = [(m.role, m.content) for m in loop.brain.messages[1:]]
    assert roles == [("user", "four two one seven"), ("assistant", "You said four two one seven.")]


def test_the_first_sentence_is_cut_where_the_tts_cuts_it():
    assert first_sentence("You said") is None
    assert first_sentence("You said four. And") == "You said four."
    assert first_sentence("Sure: ") == "Sure:"
    assert first_sentence("No break yet.") is None  # the TTS waits for what follows too


async def test_a_prepared_reply_is_synthesised_in_the_pause_and_heard_when_the_turn_ends():
    clock = ManualClock()
    llm = EchoLLM(clock)
    tts = ClockTTS(clock)
    loop = Loop(llm, preemptive=True, endpointing_ms=800, tts=tts)
    await loop.say("book monday")
    await _until(lambda: bool(llm.asked))
    clock.advance(LATENCY_MS)  # the LLM answers in the pause ...
    await _until(lambda: bool(tts.texts))
    clock.advance(TTS_MS)  # ... and its first sentence is synthesised, still in the pause
    await asyncio.sleep(0.05)
    assert not loop.frames(UserTurn) and not loop.audio_frames()  # nothing heard yet
    await _until(lambda: bool(loop.frames(UserTurn)))
    # The turn ended: its audio goes out without the TTS's time (the clock stands still).
    await _until(lambda: bool(loop.audio_frames()))
    await _until(lambda: bool(loop.frames(AgentReplyDone)))
    await loop.pipeline.close()
    assert [f.text for f in loop.audio_frames()] == ["You said book monday."]
    assert tts.texts == ["You said book monday."]  # synthesised once, ahead
    assert loop.frames(SpeechPrepare)[0].text == "You said book monday."


async def test_speech_prepared_for_an_unfinished_turn_is_never_heard():
    clock = ManualClock()
    llm = EchoLLM(clock)
    tts = ClockTTS(clock)
    loop = Loop(llm, preemptive=True, endpointing_ms=800, tts=tts)
    await loop.say("four two")
    await _until(lambda: bool(llm.asked))
    clock.advance(LATENCY_MS)
    await _until(lambda: tts.texts == ["You said four two."])
    clock.advance(TTS_MS)  # "You said four two." is synthesised, in memory
    await asyncio.sleep(0.02)
    await loop.say("one seven")  # the caller goes on
    await _until(lambda: len(llm.asked) == 2)
    clock.advance(LATENCY_MS)
    await _until(lambda: len(tts.texts) == 2)
    clock.advance(TTS_MS)
    await _until(lambda: bool(loop.frames(AgentReplyDone)))
    await _until(lambda: bool(loop.audio_frames()))
    await asyncio.sleep(0.05)
    await loop.pipeline.close()
    assert [f.text for f in loop.audio_frames()] == ["You said four two one seven."]
    assert tts.texts == ["You said four two.", "You said four two one seven."]


async def test_a_tool_call_prepared_for_an_unfinished_turn_never_runs():
    clock = ManualClock()
    llm = EchoLLM(clock, tool_on="a person")
    loop = Loop(llm, preemptive=True, endpointing_ms=800)
    await loop.say("a person")
    await _until(lambda: len(llm.asked) == 1)
    clock.advance(400)  # the prepared reply holds a transfer call
    await asyncio.sleep(0.05)
    assert loop.leg.transfers == [] and loop.tools.transferred_to is None
    await loop.say("no wait, my balance")  # the caller goes on: the transfer is thrown away
    await _until(lambda: len(llm.asked) == 2)
    clock.advance(400)
    await _until(lambda: bool(loop.frames(AgentReplyDone)))
    assert loop.leg.transfers == []
    # The turn that ends asking for a person gets its transfer, once, after it ended.
    await loop.say("get me a person")
    await _until(lambda: len(llm.asked) == 3)
    clock.advance(400)
    await _until(lambda: len(loop.frames(AgentReplyDone)) == 2)
    await loop.pipeline.close()
    assert loop.leg.transfers == ["+15550100"]
    assert loop.brain.preemption.used == 2


async def test_the_scripted_engine_keeps_its_state_when_a_prepared_reply_is_dropped():
    script = {"states": {
        "main": {"intents": [{"keywords": ["pay"], "reply": "Card number?", "next": "card"}],
                 "fallback": "Sorry?"},
        "card": {"intents": [{"keywords": ["four"], "reply": "Thanks."}], "fallback": "Card?"},
    }}
    engine = ScriptedDialogue(script)
    fork = engine.fork()
    said = [e async for e in fork.stream([ChatMessage(role="user", content="pay")], [])]
    assert said == [TextDelta(text="Card number?")]
    assert fork.state == "card" and engine.state == "main"  # a dropped fork changed nothing
    engine.adopt(fork)
    assert engine.state == "card"


def test_the_setting_is_on_by_default_and_strictly_a_boolean():
    # (the agent's choice over the node's: test_agent_timing.py)
    assert AgentSpec().preemptive_generation is True
    with pytest.raises(ValidationError):
        AgentSpec.model_validate({"preemptive_generation": "yes"})


class RecordingTTS(ToneTTS):
    """ToneTTS that keeps every text it was asked to speak."""

    def __init__(self) -> None:
        super().__init__(ms_per_word=60)
        self.texts: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.texts.append(text)
        async for chunk in super().synthesize(text):
            yield chunk


async def test_a_call_whose_caller_pauses_mid_turn_hears_only_the_reply_to_all_of_it(harness):
    # The whole loop on an in-memory leg: VAD, STT, turn-taking, brain, TTS, playout.
    tts = RecordingTTS()
    llm = CannedLLM(["First.", "Second."])
    h = harness(AgentSpec(first_speaker=FirstSpeaker.USER), llm, ["four two", "one seven"],
                tts_engine=tts, endpointing_ms=900)
    h.start()
    h.leg.feed_pcm(tone(300, 16000))
    h.leg.feed_silence(500)  # VAD closes after 200 ms, the final is in: a reply is prepared
    h.leg.feed_pcm(tone(300, 16000))
    h.leg.feed_silence(1300)
    await h.until(lambda: h.leg.played_ms() > 0, timeout=8)
    outcome = await h.finish()
    stats = h.session.brain.preemption
    assert (stats.started, stats.used, stats.discarded) == (2, 1, 1)
    assert len(llm.forks) == 2 and llm.forks[0].seen[0][-1].content == "four two"
    # The reply prepared for "four two" was never played (its first sentence, the same as
    # the one used, was synthesised once, ahead); the dropped fork did not take a canned
    # reply from the engine.
    assert tts.texts == ["First."]
    assert [t.text for t in outcome.transcript.turns if t.role == "caller"] == [
        "four two one seven"]
    assert [t.text for t in outcome.transcript.turns if t.role == "agent"] == ["First."]
    assert outcome.transcript.metrics[0].preemptive is True
    ended = next(d for t, d in h.events if t == "agent.ended")
    assert ended["preemption"] == {"prepared": 2, "used": 1, "thrown_away": 1,
                                   "speech_prepared": 1, "speech_used": 1}
