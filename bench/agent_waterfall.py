"""Where the heard voice-to-voice latency goes, per caller turn, on the phone path (prints figures).

Runs eval scenarios (the default suite unless told) as real calls on the local platform (the
simulated phone over SIP/RTP with G.711, the media node with the agents' own engines), one
at a time, and times each caller turn that got a reply on one clock (the phone and the node
share the process, so `time.monotonic()` is common to both):

    caller voice end   the phone's ground truth: the last voiced frame of the line it played
    voice at node      that frame out of the node's jitter buffer, to the agent (level > -42 dBFS)
    VAD speech end     the last frame silero called speech (its tail past the voice)
    VAD stop           the VAD closes the segment (`vad_stop_ms` of silence): STT finalises
    STT final          the transcript of the turn's last segment is in
    endpoint           the endpointer ends the turn (silence window / Smart Turn)
    LLM first token    the reply's first text (a prepared reply: at once)
    TTS first audio    the first synthesised audio of the reply
    first audio sent   handed to the leg (queued for the next 20 ms RTP tick)
    first voiced RTP   the first agent frame above -42 dBFS put on the wire
    heard at phone     the first agent frame above -42 dBFS out of the phone's jitter buffer

Each step is printed as the median time since the previous one, over the turns (plus p90),
with the load average. Instrumentation wraps the running code in this process only.

Barge-in lines ("when: barge_in" that stopped the agent) get their own waterfall, from the
phone's ground truth (the first voiced frame of the line it played):

    voice at node      that frame out of the node's jitter buffer, to the agent
    VAD first speech   the first frame silero called speech (the onset `BargeInPause` names)
    agent paused       the pause reached the leg (`barge_in_pause_ms` of speech after it)
    last voiced RTP    the agent's last frame above -42 dBFS put on the wire
    stop heard         the agent's audio heard stopping at the phone (its jitter buffer)

Run: .venv/bin/python bench/agent_waterfall.py [--only NAME ...] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from voicelane_media.agent import turns as turns_mod
from voicelane_media.agent.brain import Brain
from voicelane_media.agent.frames import BargeInPause, UserTurn
from voicelane_media.agent.speech import OutputProcessor, TTSProcessor
from voicelane_media.sim import caller as phone_mod

_vad_stops: list[tuple[float, float]] = []  # (speech_end_at, VADStop seen at)
_user_turns: list[UserTurn] = []
_tts_first: list[float] = []
_sent_first: list[float] = []
_reports: list[Any] = []
_voiced_in: list[float] = []  # caller frames above -42 dBFS delivered to the agent
_voiced_out: list[float] = []  # agent frames above -42 dBFS sent on the wire
_pauses: list[tuple[float, float]] = []  # (the caller's speech onset, the pause at the leg)


def _level_tap(times: list[float]) -> Any:
    from voicelane_media.sim.voice import level_dbfs

    def tap(frame: Any) -> None:
        if level_dbfs(frame) > -42.0:
            times.append(time.monotonic())

    return tap


def _instrument() -> None:
    on_stop = turns_mod.TurnTaking._on_stop

    async def timed_stop(self: Any, frame: Any) -> None:
        _vad_stops.append((frame.speech_end_at, time.monotonic()))
        await on_stop(self, frame)

    turns_mod.TurnTaking._on_stop = timed_stop  # type: ignore[method-assign]
    process = Brain.process

    async def timed_process(self: Any, frame: Any, direction: Any) -> None:
        if isinstance(frame, UserTurn):
            _user_turns.append(frame)
        await process(self, frame, direction)

    Brain.process = timed_process  # type: ignore[method-assign]
    first_audio = TTSProcessor._first_audio

    def timed_first(self: Any, turn_id: int) -> None:
        _tts_first.append(time.monotonic())
        first_audio(self, turn_id)

    TTSProcessor._first_audio = timed_first  # type: ignore[method-assign]
    send = OutputProcessor._send

    async def timed_send(self: Any, frame: Any) -> None:
        if frame.turn_id not in self._turns:
            _sent_first.append(time.monotonic())
        await send(self, frame)

    OutputProcessor._send = timed_send  # type: ignore[method-assign]
    process_output = OutputProcessor.process

    async def timed_output(self: Any, frame: Any, direction: Any) -> None:
        if isinstance(frame, BargeInPause) and not self.paused:
            _pauses.append((frame.onset_at, time.monotonic()))
        await process_output(self, frame, direction)

    OutputProcessor.process = timed_output  # type: ignore[method-assign]
    wait = phone_mod.PhoneThread.wait

    def kept_wait(self: Any, timeout_s: float) -> Any:
        report = wait(self, timeout_s)
        _reports.append(report)
        return report

    phone_mod.PhoneThread.wait = kept_wait  # type: ignore[method-assign]
    from voicelane_media.transports.sip import media_leg

    leg_init = media_leg.RtpAgentLeg.__init__

    def tapped_init(self: Any, session: Any, *args: Any, **kw: Any) -> None:
        leg_init(self, session, *args, **kw)
        session.add_audio_tap(_level_tap(_voiced_in))
        session.add_playout_tap(_level_tap(_voiced_out))

    media_leg.RtpAgentLeg.__init__ = tapped_init  # type: ignore[method-assign]


def _after(times: list[float], at: float, within: float = 10.0) -> float | None:
    later = [t for t in times if at <= t <= at + within]
    return min(later) if later else None


STEPS = ["voice at node", "VAD speech end", "VAD stop", "STT final", "endpoint",
         "TTS first audio", "first audio sent", "first voiced RTP", "heard at phone"]


def waterfalls() -> list[dict[str, float]]:
    """Per replied caller line: each step's time since the caller's voice ended (ms)."""
    rows = []
    for report in _reports:
        for line in report.lines:
            if line.agent_reply_ms is None or line.text.startswith("["):
                continue
            end = line.ended_at
            turn = next((t for t in _user_turns
                         if end - 0.3 <= t.speech_end_at <= end + 1.0), None)
            if turn is None:
                continue
            stop = next((s for e, s in _vad_stops if abs(e - turn.speech_end_at) < 1e-6), None)
            tts = _after(_tts_first, turn.at)
            sent = _after(_sent_first, turn.at)
            heard = end + line.agent_reply_ms / 1000.0
            arrived = [t for t in _voiced_in if end - 0.1 <= t <= end + 0.6]
            wire = _after(_voiced_out, sent) if sent is not None else None
            points = [max(arrived) if arrived else None, turn.speech_end_at, stop,
                      turn.stt_final_at, turn.at, tts, sent, wire, heard]
            row = {"text": line.text}
            row.update({step: (p - end) * 1000.0 for step, p in zip(STEPS, points, strict=True)
                        if p is not None})
            rows.append(row)
    return rows


BARGE_STEPS = ["voice at node", "VAD first speech", "agent paused", "last voiced RTP",
               "stop heard"]


def barge_waterfalls() -> list[dict[str, Any]]:
    """Per barge-in line that stopped the agent: each step's time since the caller's onset."""
    rows = []
    for report in _reports:
        for line in report.lines:
            if line.when != "barge_in" or line.agent_stop_ms is None:
                continue
            onset = line.started_at
            pause = next(((at, paused) for at, paused in _pauses
                          if onset - 0.1 <= at <= onset + 1.0), None)
            arrived = _after(_voiced_in, onset - 0.02, 0.5)
            stop = onset + line.agent_stop_ms / 1000.0
            sent = [t for t in _voiced_out if onset - 0.5 <= t <= stop]
            points = [arrived, pause[0] if pause else None, pause[1] if pause else None,
                      max(sent) if sent else None, stop]
            row: dict[str, Any] = {"text": line.text}
            row.update({step: (p - onset) * 1000.0
                        for step, p in zip(BARGE_STEPS, points, strict=True) if p is not None})
            rows.append(row)
    return rows


def _print(rows: list[dict[str, Any]], load: tuple[float, float], steps: list[str] = STEPS,
           what: str = "replied caller turns", since: str = "voice end") -> None:
    print(f"\n{len(rows)} {what}; load average {load[0]:.1f}-{load[1]:.1f}")
    print(f"{'step':<18} {'at p50':>8} {'step p50':>9} {'step p90':>9}   (ms since {since})")
    previous = None
    for step in steps:
        values = [r[step] for r in rows if step in r]
        if not values:
            continue
        deltas = [r[step] - r[previous] for r in rows if step in r and previous in r] \
            if previous else values
        deltas.sort()
        p90 = deltas[min(len(deltas) - 1, round(0.9 * (len(deltas) - 1)))]
        print(f"{step:<18} {statistics.median(values):>8.0f} {statistics.median(deltas):>9.0f} "
              f"{p90:>9.0f}")
        previous = step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="default")
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    _instrument()
    from voicelane_local.evals.command import DEFAULT_SUITE, run_scenarios, select, warm_up
    from voicelane_local.evals.schema import load_suite
    from voicelane_local.media_node import start_local_node
    from voicelane_local.platform import LocalPlatform

    suite = load_suite(DEFAULT_SUITE if args.suite == "default" else Path(args.suite))
    scenarios = select(suite, args.only, False)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("VOICELANE_CALLS_PER_SECOND", "1000")
    os.environ.setdefault("VOICELANE_MOTO_PROCESS", "1")
    platform = LocalPlatform(api_port=0, env_file=None, with_media=False).start()
    loads = [os.getloadavg()[0]]
    try:
        base = random.randrange(30000, 39000, 200)
        platform.extras.append(start_local_node(
            platform, sip_port=0, rtp_port_min=base, rtp_port_max=base + 199,
            node_id=f"waterfall-{random.randrange(16**6):06x}"))
        warm_up(suite, scenarios)
        for _ in range(args.runs):
            records = run_scenarios(platform, suite, scenarios)
            loads.append(os.getloadavg()[0])
            failed = [name for name, r in records.items() if r.error]
            if failed:
                print("calls that did not run:", ", ".join(failed))
    finally:
        platform.stop()
    rows = waterfalls()
    for row in rows:
        print(f"  {row['text'][:34]:<34} " + " ".join(
            f"{row[s]:6.0f}" if s in row else "     -" for s in STEPS))
    _print(rows, (min(loads), max(loads)))
    barges = barge_waterfalls()
    if barges:
        for row in barges:
            print(f"  {row['text'][:34]:<34} " + " ".join(
                f"{row[s]:6.0f}" if s in row else "     -" for s in BARGE_STEPS))
        _print(barges, (min(loads), max(loads)), BARGE_STEPS, "barge-ins that stopped the agent",
               "the caller's onset")


if __name__ == "__main__":
    main()
