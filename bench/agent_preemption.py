"""Preemptive generation on vs off, in one run (prints figures).

Two sessions per engine set, one with `preemptive_generation` off and one with it on, fed the
same caller turns alternately so both see the same machine load. Voice-to-voice is the
platform's (end of caller speech as the VAD saw it -> first agent audio sent to the leg),
silence endpointing at 500 ms.

Engine sets:
- fake: energy VAD, an STT whose final comes 150 ms after VAD stop, an LLM whose first token
  takes 350 ms (a cloud LLM's time to first token), tone TTS;
- local: silero + whisper tiny.en + the scripted engine (~0 ms) + piper;
- local + slow LLM: the same, the scripted engine's first token held 350 ms.

Preemption can only save what is left of the endpointing window once the STT final is in:
at most min(LLM first token, window - STT final).

Run: .venv/bin/python bench/agent_preemption.py [--turns N] [--local-turns N] [--skip-local]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from voicelane.domain.agent import AgentSpec, FirstSpeaker, ToolSpec
from voicelane_media.agent import AgentSession, Engines, InMemoryLeg, LoopSettings
from voicelane_media.agent.audio import tone
from voicelane_media.agent.fakes import CannedLLM, EnergyVAD, QueuedSTT, ToneTTS
from voicelane_media.agent.providers import ChatMessage, LLMEngine, LLMEvent, SpeculativeLLM
from voicelane_media.codecs.resample import resample_pcm16

RATE = 16000
SCRIPT = {"states": {"main": {"intents": [
    {"keywords": ["appointment"], "reply": "Sure, which time on Monday works for you?"}]}}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class SlowFirstToken:
    """An LLM engine whose every request waits `delay_s` before its first event."""

    def __init__(self, inner: Any, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s

    def fork(self) -> SlowFirstToken:
        inner = self.inner.fork() if isinstance(self.inner, SpeculativeLLM) else self.inner
        return SlowFirstToken(inner, self.delay_s)

    def adopt(self, fork: object) -> None:
        if isinstance(fork, SlowFirstToken) and isinstance(self.inner, SpeculativeLLM):
            self.inner.adopt(fork.inner)

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[LLMEvent]:
        await asyncio.sleep(self.delay_s)
        async for event in self.inner.stream(messages, tools):
            yield event


async def _wait(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


async def compare(
    build: Any, caller: bytes, turns: int, silence_ms: int, timeout: float
) -> dict[str, tuple[list[float], Any]]:
    """{off|on: (voice-to-voice values, preemption stats)} over `turns` turns each."""
    runs = []
    for preemptive in (False, True):
        leg = InMemoryLeg(sample_rate=RATE)
        vad, stt, llm, tts = build()
        session = AgentSession(
            AgentSpec(first_speaker=FirstSpeaker.USER, script=SCRIPT), leg,
            Engines(vad=vad, stt=stt, llm=llm, tts=tts),
            settings=LoopSettings(max_duration_s=3600, stt_final_wait_ms=8000,
                                  preemptive_generation=preemptive),
        )
        runs.append(("on" if preemptive else "off", leg, session,
                     asyncio.create_task(session.run())))
    for _ in range(turns):
        for _name, leg, session, _task in runs:
            before = len(session.transcript.metrics)
            leg.feed_pcm(caller)
            leg.feed_silence(silence_ms)
            await _wait(lambda s=session, b=before: len(s.transcript.metrics) > b
                        and s.transcript.metrics[-1].voice_to_voice_ms is not None, timeout)
            await _wait(lambda s=session: not s.agent_busy(), timeout)
            await leg.drained()
    out: dict[str, tuple[list[float], Any]] = {}
    for name, leg, session, task in runs:
        leg.close_inbound()
        outcome = await task
        values = [m.voice_to_voice_ms for m in outcome.transcript.metrics
                  if m.voice_to_voice_ms is not None]
        out[name] = (values, session.brain.preemption)
    return out


def report(title: str, result: dict[str, tuple[list[float], Any]]) -> None:
    print(title)
    for name, (values, stats) in result.items():
        if not values:
            print(f"  preemption {name:>3}: no replies")
            continue
        print(f"  preemption {name:>3}: voice-to-voice p50 {pct(values, 50):.0f} ms  "
              f"p95 {pct(values, 95):.0f} ms over {len(values)} turns  "
              f"(prepared {stats.started}, used {stats.used}, thrown away {stats.discarded})")


async def main_async(args: argparse.Namespace) -> None:
    def fake() -> tuple[Any, Any, LLMEngine, Any]:
        replies = ["Sure, which time works for you?"] * (args.turns + 2)
        return (EnergyVAD(), QueuedSTT(["an appointment on monday"] * (args.turns + 2),
                                       latency_s=0.15),
                SlowFirstToken(CannedLLM(replies), 0.35), ToneTTS(ms_per_word=100))

    report(f"fake engines (STT final +150 ms, LLM first token 350 ms), {args.turns} turns each",
           await compare(fake, tone(600, RATE), args.turns, 1200, 10))
    if args.skip_local:
        return
    from voicelane_media.agent.local_engines import PiperTTS, SileroVAD, WhisperSTT
    from voicelane_media.agent.scripted import ScriptedDialogue

    piper, whisper = PiperTTS(), WhisperSTT()
    chunks = [c async for c in piper.synthesize("Hi, I would like an appointment on Monday.")]
    caller = b"".join(resample_pcm16(c.pcm, c.sample_rate, RATE) for c in chunks)
    for delay in (0.0, 0.35):
        def local(d: float = delay) -> tuple[Any, Any, LLMEngine, Any]:
            llm: LLMEngine = ScriptedDialogue(SCRIPT)
            return SileroVAD(), whisper, SlowFirstToken(llm, d) if d else llm, piper

        label = "scripted" if not delay else f"scripted + {delay * 1000:.0f} ms first token"
        report(f"local engines (silero + whisper tiny.en + {label} + piper), "
               f"{args.local_turns} turns each",
               await compare(local, caller, args.local_turns, 2500, 30))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--local-turns", type=int, default=8)
    parser.add_argument("--skip-local", action="store_true")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
