"""How many concurrent agent calls one core holds with the local engines.

    .venv/bin/python bench/agent_concurrency.py [--levels 1,2,4,6,8] [--turns 3] [--core 0]

The whole process is pinned to one core (os.sched_setaffinity, before any model or thread pool
exists, so every thread inherits it). Each call is a real AgentSession on an InMemoryLeg with
the local engines (silero VAD, faster-whisper tiny.en int8 1 thread, the scripted engine, piper
joe, or espeak-ng with --tts espeak), fed in real time with caller turns synthesised by piper
beforehand. Calls start staggered over a second so turns do not line up. Per level: voice-to-
voice p50/p95 (end of caller speech -> first agent audio), playout underruns (a 20 ms agent
frame that left more than 20 ms late, or a gap of 40 ms-1 s inside agent speech), process CPU
% of the core and RSS. A level "holds" when v2v p95 <= 2x the N=1 p95 and there are no
underruns. Figures move with machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import time
from typing import Any

RATE = 16000
LINES = ["I would like to book an appointment please.", "Is Monday morning free?",
         "Thank you, that is all."]
SCRIPT: dict[str, Any] = {"states": {"main": {
    "intents": [
        {"keywords": ["appointment", "book"], "reply": "Sure. Which day would suit you best?"},
        {"keywords": ["monday", "morning"], "reply": "Monday at nine is free. Shall I book it?"},
        {"keywords": ["thank", "thanks", "all"], "reply": "You are welcome. Have a good day."},
    ],
    "fallback": "Sorry, could you say that again?"}}}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_leg_class() -> type:
    from voicelane_media.agent import InMemoryLeg

    class MeasuredLeg(InMemoryLeg):  # type: ignore[misc]
        """InMemoryLeg whose playout counts late frames and gaps inside agent speech."""

        late_frames = 0
        gaps = 0
        last_end = 0.0

        async def _play(self) -> None:
            next_at = time.monotonic()
            if 0.04 < next_at - self.last_end < 1.0:
                self.gaps += 1
            while self._queue:
                chunk = self._queue.popleft()
                next_at += len(chunk) / 2 / self.sample_rate
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.02:
                    self.late_frames += 1
                self._played_bytes += len(chunk)
                self.played.append(type(self.played[0])(at=time.monotonic(), pcm=chunk)
                                   if self.played else _chunk(chunk))
            self.last_end = time.monotonic()

    return MeasuredLeg


def _chunk(pcm: bytes) -> Any:
    from voicelane_media.agent.leg import PlayedChunk

    return PlayedChunk(at=time.monotonic(), pcm=pcm)


async def one_call(leg_cls: type, engines: Any, caller: list[bytes], delay: float) -> Any:
    from voicelane.domain.agent import AgentSpec, FirstSpeaker
    from voicelane_media.agent import AgentSession, LoopSettings

    await asyncio.sleep(delay)
    leg = leg_cls(sample_rate=RATE)
    spec = AgentSpec(first_speaker=FirstSpeaker.USER, script=SCRIPT)
    session = AgentSession(spec, leg, engines(),
                           settings=LoopSettings(max_duration_s=3600, stt_final_wait_ms=8000))
    task = asyncio.create_task(session.run())
    for pcm in caller:
        before = len(session.transcript.metrics)
        leg.feed_pcm(pcm)
        leg.feed_silence(900)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            len(session.transcript.metrics) > before
            and session.transcript.metrics[-1].voice_to_voice_ms is not None
        ):
            await asyncio.sleep(0.02)
        while time.monotonic() < deadline and session.agent_busy():
            await asyncio.sleep(0.02)
        leg.feed_silence(300)
    leg.close_inbound()
    outcome = await task
    return outcome, leg


async def level(n: int, leg_cls: type, engines: Any, caller: list[bytes]) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = usage.ru_utime + usage.ru_stime, time.monotonic()
    results = await asyncio.gather(*(one_call(leg_cls, engines, caller, random.uniform(0, 1.0))
                                     for _ in range(n)))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime + usage.ru_stime - cpu0) / (time.monotonic() - wall0) * 100
    v2v = [m.voice_to_voice_ms for outcome, _ in results for m in outcome.transcript.metrics
           if m.voice_to_voice_ms is not None]
    expected = n * len(caller)
    return {"n": n, "v2v": v2v, "missing": max(0, expected - len(v2v)), "cpu": cpu, "rss": rss_mb(),
            "late": sum(leg.late_frames for _, leg in results),
            "gaps": sum(leg.gaps for _, leg in results)}


async def run(levels: list[int], tts_name: str, turns: int) -> None:
    from voicelane_media.agent import Engines
    from voicelane_media.agent.local_engines import EspeakTTS, PiperTTS, SileroVAD, WhisperSTT
    from voicelane_media.agent.scripted import ScriptedDialogue
    from voicelane_media.codecs.resample import resample_pcm16

    started = time.perf_counter()
    piper, whisper = PiperTTS(), WhisperSTT()
    tts: Any = piper if tts_name == "piper" else EspeakTTS()
    print(f"models loaded in {time.perf_counter() - started:.1f} s, RSS {rss_mb():.0f} MB")
    caller = []
    for line in (LINES * turns)[:turns]:
        chunks = [c async for c in piper.synthesize(line)]
        caller.append(b"".join(resample_pcm16(c.pcm, c.sample_rate, RATE) for c in chunks))
    whisper.transcribe(caller[0])  # warm-up

    def engines() -> Engines:
        return Engines(vad=SileroVAD(), stt=whisper, llm=ScriptedDialogue(SCRIPT), tts=tts)

    leg_cls = make_leg_class()
    print(f"{'N':>3} {'turns':>5} {'v2v p50':>8} {'v2v p95':>8} {'miss':>4} {'late':>5} "
          f"{'gaps':>4} {'CPU %':>6} {'RSS MB':>7}  holds")
    base_p95: float | None = None
    for n in levels:
        r = await level(n, leg_cls, engines, caller)
        p50, p95 = pct(r["v2v"], 50), pct(r["v2v"], 95)
        base_p95 = base_p95 or p95
        holds = (p95 <= 2 * base_p95 and r["late"] == 0 and r["gaps"] == 0
                 and r["missing"] == 0)
        print(f"{n:>3} {len(r['v2v']):>5} {p50:>8.0f} {p95:>8.0f} {r['missing']:>4} "
              f"{r['late']:>5} {r['gaps']:>4} {r['cpu']:>6.0f} {r['rss']:>7.0f}  "
              f"{'yes' if holds else 'no'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="1,2,4,6,8")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--tts", choices=["piper", "espeak"], default="piper")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})  # before any thread exists: all threads inherit it
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"pinned to core {args.core}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs (shared machine)")
    asyncio.run(run([int(x) for x in args.levels.split(",")], args.tts, args.turns))


if __name__ == "__main__":
    main()
