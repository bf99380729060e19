"""Agent loop latency benchmark (prints figures).

1. Instant fake engines: what the loop itself adds to voice-to-voice latency beyond the
   silence the endpointer waited (p50/p95, target p95 <= 50 ms), and barge-in stop time
   (start of the caller's speech over the agent -> agent audio stopped; p95, target <= 120 ms).
2. Local engines (silero + faster-whisper tiny.en + scripted + piper), one session per
   endpointing mode, their turns interleaved so both see the same machine load: voice-to-voice
   p50/p95 (end of caller speech -> first agent audio sent) with `silence` (500 ms) and with
   `smart_turn` (the model asked after 200 ms), and the model's own time per verdict.

Run: .venv/bin/python bench/agent_latency.py [--turns N] [--local-turns N] [--skip-local]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from voicelane.domain.agent import AgentSpec, FirstSpeaker, TurnDetection
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
        settings=LoopSettings(max_duration_s=3600, turn_detection=TurnDetection.SILENCE),
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


class _TimedAnalyzer:
    """The Smart Turn analyzer, timing each verdict."""

    def __init__(self) -> None:
        from voicelane_media.agent.smart_turn import SmartTurnAnalyzer

        self.inner = SmartTurnAnalyzer()
        self.costs_ms: list[float] = []

    def probability(self, pcm: bytes, sample_rate: int) -> float:
        started = time.perf_counter()
        try:
            return self.inner.probability(pcm, sample_rate)
        finally:
            self.costs_ms.append((time.perf_counter() - started) * 1000)


async def local_engines(
    turns: int,
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, float], list[float]]:
    """Voice-to-voice and STT-final latencies per endpointing mode, turns interleaved."""
    from voicelane_media.agent.local_engines import PiperTTS, SileroVAD, WhisperSTT
    from voicelane_media.agent.scripted import ScriptedDialogue

    costs: dict[str, float] = {}
    started = time.perf_counter()
    piper = PiperTTS()
    costs["piper_load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    whisper = WhisperSTT()
    costs["whisper_load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    analyzer = _TimedAnalyzer()
    costs["smart_turn_load_s"] = time.perf_counter() - started
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
    modes = (TurnDetection.SILENCE, TurnDetection.SMART_TURN)
    runs = []
    for mode in modes:
        leg = InMemoryLeg(sample_rate=RATE)
        spec = AgentSpec(first_speaker=FirstSpeaker.USER, script=script, turn_detection=mode)
        engines = Engines(vad=SileroVAD(), stt=whisper, llm=ScriptedDialogue(script), tts=piper,
                          turn=analyzer if mode is TurnDetection.SMART_TURN else None)
        session = AgentSession(
            spec, leg, engines, settings=LoopSettings(max_duration_s=3600, stt_final_wait_ms=8000)
        )
        runs.append((mode, leg, session, asyncio.create_task(session.run())))
    for _ in range(turns):
        for _mode, leg, session, _task in runs:
            before = len(session.transcript.metrics)
            leg.feed_pcm(caller)
            leg.feed_silence(2500)
            await _wait(
                lambda s=session, b=before: (
                    len(s.transcript.metrics) > b
                    and s.transcript.metrics[-1].voice_to_voice_ms is not None
                ),
                20,
            )
            await _wait(lambda s=session: not s.agent_busy(), 20)
            await leg.drained()
    v2v: dict[str, list[float]] = {}
    stt: dict[str, list[float]] = {}
    for mode, leg, _session, task in runs:
        leg.close_inbound()
        outcome = await task
        metrics = outcome.transcript.metrics
        v2v[mode.value] = [m.voice_to_voice_ms for m in metrics if m.voice_to_voice_ms is not None]
        stt[mode.value] = [m.stt_final_ms for m in metrics if m.stt_final_ms is not None]
        if mode is TurnDetection.SMART_TURN:
            probs = [m.end_of_turn_probability for m in metrics]
            costs["smart_turn_complete_share"] = sum(
                1 for p in probs if p is not None and p >= 0.5) / max(1, len(probs))
    return v2v, stt, costs, analyzer.costs_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--local-turns", type=int, default=8)
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    added, stops = asyncio.run(fake_engines(args.turns))
    print(f"fake engines, {len(added)} replies, silence endpointing 500 ms")
    print(
        f"  platform-added voice-to-voice beyond endpointing: p50 {pct(added, 50):.1f} ms  p95 {pct(added, 95):.1f} ms  (target p95 <= 50)"
    )
    print(
        f"  barge-in stop time, caller speech start -> agent audio stopped ({len(stops)} barge-ins): p50 {pct(stops, 50):.1f} ms  p95 {pct(stops, 95):.1f} ms  (target p95 <= 120)"
    )
    if args.skip_local:
        return
    v2v, stt, costs, model_ms = asyncio.run(local_engines(args.local_turns))
    print(
        "local engines (silero + whisper tiny.en int8 1 thread + scripted + piper joe), "
        f"{args.local_turns} turns per mode, interleaved"
    )
    for mode, values in v2v.items():
        if not values:
            print(f"  {mode}: no replies")
            continue
        print(
            f"  {mode:>10}: voice-to-voice p50 {pct(values, 50):.0f} ms  p95 {pct(values, 95):.0f} ms"
            f"  (end of speech -> STT final p50 {pct(stt[mode], 50):.0f} ms), {len(values)} turns"
        )
    if model_ms:
        print(f"  smart_turn verdict: p50 {pct(model_ms, 50):.0f} ms  p95 {pct(model_ms, 95):.0f} ms")
    print(
        "  costs: "
        + ", ".join(f"{k} {v:.2f}" for k, v in costs.items())
        + "  (figures move with machine load)"
    )


if __name__ == "__main__":
    main()
