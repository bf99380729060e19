"""The eval's plots as inline SVG strings (no scripts, no fonts or files fetched): a per-turn
latency waterfall, a latency distribution, and a timeline of who spoke when."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from voicelane_local.evals.scoring import TurnLatency

Stage = Callable[[TurnLatency], tuple[float, float | None]]
FONT = 'font-family="sans-serif" font-size="11"'
COLOURS = {"stt": "#4e79a7", "endpoint": "#f28e2b", "llm": "#59a14f", "tts": "#e15759",
           "v2v": "#76b7b2", "heard": "#b07aa1", "caller": "#4e79a7", "agent": "#e15759"}


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>'
            f'<rect width="{width}" height="{height}" fill="white"/>{"".join(body)}</svg>')


def _axis(x0: int, y: int, width: int, top: float, label: str, ticks: int = 5) -> list[str]:
    out = [f'<line x1="{x0}" y1="{y}" x2="{x0 + width}" y2="{y}" stroke="#888"/>']
    for i in range(ticks + 1):
        x = x0 + width * i / ticks
        out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#888"/>'
                   f'<text x="{x:.1f}" y="{y + 15}" text-anchor="middle" {FONT}>'
                   f'{top * i / ticks:.0f}</text>')
    out.append(f'<text x="{x0 + width / 2}" y="{y + 29}" text-anchor="middle" {FONT}>'
               f'{escape(label)}</text>')
    return out


def _nice(value: float) -> float:
    for step in (250, 500, 1000, 2000, 5000, 10000, 20000, 60000):
        if value <= step:
            return float(step)
    return float(value)


def waterfall_svg(turns: list[TurnLatency], title: str = "per-turn latency") -> str:
    """Each agent reply as a row of bars from the end of the caller's speech (0 ms): STT
    final, endpoint (turn committed), LLM first token and TTS first audio (both after the
    commit), voice-to-voice as the platform sent it, and as the phone heard it."""
    stages: list[tuple[str, str, Stage]] = [("stt", "STT final", lambda t: (0.0, t.stt_final_ms)),
              ("endpoint", "endpoint", lambda t: (0.0, t.endpoint_ms)),
              ("llm", "LLM 1st token", lambda t: (t.endpoint_ms or 0.0, t.llm_first_token_ms)),
              ("tts", "TTS 1st audio", lambda t: (t.endpoint_ms or 0.0, t.tts_first_audio_ms)),
              ("v2v", "sent (platform)", lambda t: (0.0, t.voice_to_voice_ms)),
              ("heard", "heard (phone)", lambda t: (0.0, t.heard_ms))]
    ends = [s + d for t in turns for _, _, f in stages for s, d in [f(t)] if d is not None]
    top = _nice(max(ends, default=1000.0))
    left, width, bar, gap = 190, 520, 9, 14
    row_h = bar * len(stages) + gap
    height = 40 + row_h * max(len(turns), 1) + 50
    body = [f'<text x="10" y="18" {FONT} font-weight="bold">{escape(title)} (ms from the end '
            'of the caller\'s speech)</text>']
    for k, (key, label, _) in enumerate(stages):
        lx = 10 + k * 118
        body.append(f'<rect x="{lx}" y="26" width="10" height="10" fill="{COLOURS[key]}"/>'
                    f'<text x="{lx + 14}" y="35" {FONT}>{label}</text>')
    for r, turn in enumerate(turns):
        y0 = 46 + r * row_h
        said = turn.caller_text[:28] + ("..." if len(turn.caller_text) > 28 else "")
        body.append(f'<text x="10" y="{y0 + row_h / 2}" {FONT}>turn {turn.turn_index}: '
                    f'{escape(said)}</text>')
        for k, (key, label, f) in enumerate(stages):
            start, dur = f(turn)
            if dur is None:
                continue
            x, w = left + width * start / top, max(width * dur / top, 1.0)
            body.append(f'<rect x="{x:.1f}" y="{y0 + k * bar}" width="{w:.1f}" '
                        f'height="{bar - 1}" fill="{COLOURS[key]}"><title>{label}: '
                        f'{dur:.0f} ms</title></rect>')
            body.append(f'<text x="{x + w + 3:.1f}" y="{y0 + k * bar + bar - 2}" '
                        f'font-family="sans-serif" font-size="8">{dur:.0f}</text>')
    if not turns:
        body.append(f'<text x="{left}" y="60" {FONT}>no agent reply measured</text>')
    body += _axis(left, height - 44, width, top, "ms")
    return _svg(left + width + 60, height, body, title)


def distribution_svg(values: list[float], p50: float | None, p95: float | None,
                     title: str = "voice-to-voice as heard") -> str:
    """A histogram of ``values`` (ms) with the p50 and p95 marked."""
    left, width, height, plot_h = 40, 560, 220, 140
    top = _nice(max(values, default=1000.0))
    bins = 20
    counts = [0] * bins
    for v in values:
        counts[min(int(v / top * bins), bins - 1)] += 1
    peak = max(counts, default=1) or 1
    body = [f'<text x="10" y="18" {FONT} font-weight="bold">{escape(title)}: '
            f'{len(values)} replies</text>']
    base = 30 + plot_h
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        body.append(f'<rect x="{left + width * i / bins + 1:.1f}" y="{base - h:.1f}" '
                    f'width="{width / bins - 2:.1f}" height="{h:.1f}" fill="{COLOURS["heard"]}">'
                    f'<title>{top * i / bins:.0f}-{top * (i + 1) / bins:.0f} ms: {count}'
                    '</title></rect>')
    for name, value in (("p50", p50), ("p95", p95)):
        if value is not None:
            x = left + width * min(value, top) / top
            body.append(f'<line x1="{x:.1f}" y1="30" x2="{x:.1f}" y2="{base}" stroke="black" '
                        f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="40" {FONT}>'
                        f'{name} {value:.0f}</text>')
    body += _axis(left, base, width, top, "ms")
    return _svg(left + width + 30, height, body, title)


def timeline_svg(phone: dict[str, Any], title: str = "who spoke when") -> str:
    """Two lanes over the call (seconds from the answer): the caller's lines as the phone
    sent them, and the agent's speech as the phone heard it."""
    lines = phone.get("lines", [])
    spans = phone.get("agent_speech", [])
    end = max([float(b) for _, b in spans] + [float(ln["end_s"]) for ln in lines] + [1.0])
    top = float(int(end) + 1)
    left, width = 60, 640
    body = [f'<text x="10" y="18" {FONT} font-weight="bold">{escape(title)} (s from the '
            'answer)</text>']
    lanes = (("caller", 34, [(ln["start_s"], ln["end_s"], ln["text"]) for ln in lines]),
             ("agent", 64, [(a, b, "") for a, b in spans]))
    for lane, y, items in lanes:
        body.append(f'<text x="10" y="{y + 13}" {FONT}>{lane}</text>')
        for a, b, text in items:
            x, w = left + width * float(a) / top, max(width * (float(b) - float(a)) / top, 1.5)
            tip = escape(f"{text} " if text else "") + f"{float(a):.2f}-{float(b):.2f} s"
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="18" '
                        f'fill="{COLOURS[lane]}" opacity="0.8"><title>{tip}</title></rect>')
    body += _axis(left, 96, width, top, "s", ticks=min(10, int(top)))
    return _svg(left + width + 30, 140, body, title)
