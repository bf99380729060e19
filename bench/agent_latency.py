"""Agent loop latency benchmark (prints figures).

1. Instant fake engines: what the loop itself adds to voice-to-voice latency beyond the
   endpointing window (p50/p95, target p95 <= 50 ms), and barge-in stop time (caller speech
   confirmed -> leg cleared; p95, target <= 100 ms).
2. Local engines (silero + faster-whisper tiny.en + scripted + piper): voice-to-voice p50/p95
   on this machine, end of caller speech -> first agent audio sent.

Run: .venv/bin/python bench/agent_latency.py [--turns N] [--skip-local]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from voicelane.domain.agent import AgentSpec, FirstSpeaker
from voicelane_media.agent import AgentSession, Engines, InMemoryLeg, LoopSettings
from voicelane_media.agent.audio import tone
from voicelane_media.agent.fakes import CannedLLM, EnergyVAD, QueuedSTT, ToneTTS
from voicelane_media.codecs.resample import resample_pcm16

RATE = 16000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _wait(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


async def fake_engines(turns: int) -> tuple[list[float], list[float]]:
    """Alternate a normal turn and a barge-in turn on one session."""
    leg = InMemoryLeg(sample_rate=RATE)
    replies = ["Sure. " + " ".join(["word"] * 12) + "." for _ in range(turns * 2 + 2)]
    llm = CannedLLM(replies)
    stt = QueuedSTT([f"caller turn {i}" for i in range(turns * 3 + 3)])
    spec = AgentSpec(first_speaker=FirstSpeaker.USER)
    session = AgentSession(
        spec,
        leg,
        Engines(vad=EnergyVAD(), stt=stt, llm=llm, tts=ToneTTS(ms_per_word=100)),
        settings=LoopSettings(max_duration_s=3600),
    )
    task = asyncio.create_task(session.run())
    for _ in range(turns):
        seen = len(llm.seen)
        leg.feed_pcm(tone(300, RATE))
        leg.feed_silence(600)
        await _wait(
            lambda s=seen: len(llm.seen) > s and leg.played_ms() > 0 and session.output.playing
        )
        await asyncio.sleep(0.15)
        leg.feed_pcm(tone(400, RATE))  # barge in
        leg.feed_silence(600)
        await _wait(lambda s=seen: len(llm.seen) > s + 1)
        await _wait(lambda: not session.agent_busy())
    leg.close_inbound()
    outcome = await task
    added = [
        m.platform_added_ms for m in outcome.transcript.metrics if m.platform_added_ms is not None
    ]
    stops = [
        m.barge_in_stop_ms for m in outcome.transcript.metrics if m.barge_in_stop_ms is not None
    ]
    return added, stops


async def local_engines(turns: int) -> tuple[list[float], list[float], dict[str, float]]:
    from voicelane_media.agent.local_engines import PiperTTS, SileroVAD, WhisperSTT
    from voicelane_media.agent.scripted import ScriptedDialogue

    costs: dict[str, float] = {}
    started = time.perf_counter()
    piper = PiperTTS()
    costs["piper_load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    whisper = WhisperSTT()
    costs["whisper_load_s"] = time.perf_counter() - started
    sentence = "Hi, I would like an appointment on Monday."
    chunks = [c async for c in piper.synthesize(sentence)]
    caller = b"".join(resample_pcm16(c.pcm, c.sample_rate, RATE) for c in chunks)
    started = time.perf_counter()
    whisper.transcribe(caller)
    costs["whisper_rtf"] = (time.perf_counter() - started) / (len(caller) / 2 / RATE)
    started = time.perf_counter()
    chunks = [c async for c in piper.synthesize(sentence)]
    audio_s = sum(len(c.pcm) / 2 / c.sample_rate for c in chunks)
    costs["piper_rtf"] = (time.perf_counter() - started) / audio_s

    script = {
        "states": {
            "main": {
                "intents": [
                    {
                        "keywords": ["appointment"],
                        "reply": "Sure, which time on Monday works for you?",
                    }
                ]
            }
        }
    }
    leg = InMemoryLeg(sample_rate=RATE)
    spec = AgentSpec(first_speaker=FirstSpeaker.USER, script=script)
    engines = Engines(vad=SileroVAD(), stt=whisper, llm=ScriptedDialogue(script), tts=piper)
    session = AgentSession(
        spec, leg, engines, settings=LoopSettings(max_duration_s=3600, stt_final_wait_ms=8000)
    )
    task = asyncio.create_task(session.run())
    for _ in range(turns):
        before = len(session.transcript.metrics)
        leg.feed_pcm(caller)
        leg.feed_silence(800)
        await _wait(
            lambda b=before: (
                len(session.transcript.metrics) > b
                and session.transcript.metrics[-1].voice_to_voice_ms is not None
            ),
            20,
        )
        await _wait(lambda: not session.agent_busy(), 20)
    leg.close_inbound()
    outcome = await task
    v2v = [
        m.voice_to_voice_ms for m in outcome.transcript.metrics if m.voice_to_voice_ms is not None
    ]
    stt = [m.stt_final_ms for m in outcome.transcript.metrics if m.stt_final_ms is not None]
    return v2v, stt, costs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--local-turns", type=int, default=8)
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    added, stops = asyncio.run(fake_engines(args.turns))
    print(f"fake engines, {len(added)} replies, endpointing 500 ms")
    print(
        f"  platform-added voice-to-voice beyond endpointing: p50 {pct(added, 50):.1f} ms  p95 {pct(added, 95):.1f} ms  (target p95 <= 50)"
    )
    print(
        f"  barge-in stop time ({len(stops)} barge-ins): p50 {pct(stops, 50):.1f} ms  p95 {pct(stops, 95):.1f} ms  (target p95 <= 100)"
    )
    if args.skip_local:
        return
    v2v, stt, costs = asyncio.run(local_engines(args.local_turns))
    print(
        f"local engines (silero + whisper tiny.en int8 1 thread + scripted + piper joe), {len(v2v)} turns"
    )
    print(
        f"  voice-to-voice (end of speech -> first agent audio): p50 {pct(v2v, 50):.0f} ms  p95 {pct(v2v, 95):.0f} ms"
    )
    print(f"  end of speech -> STT final: p50 {pct(stt, 50):.0f} ms  p95 {pct(stt, 95):.0f} ms")
    print(
        "  costs: "
        + ", ".join(f"{k} {v:.2f}" for k, v in costs.items())
        + "  (figures move with machine load)"
    )


if __name__ == "__main__":
    main()
