"""What the demo prints for a call, from the public API: the checked reply, one line per event
(the timeline), the transcript with per-turn latencies, the call's summary line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx


def check(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        raise SystemExit(f"demo failed: {resp.request.method} {resp.request.url} -> "
                         f"{resp.status_code} {resp.text}")
    return resp.json() if resp.content else None


def describe(event_type: str, details: dict[str, Any]) -> str:
    """One line for an event of the live timeline."""
    if event_type == "call.agent.turn":
        who = {"agent": "AGENT ", "caller": "CALLER", "dtmf": "KEYED "}.get(str(details.get("role")), "?")
        text = details.get("heard_text") if details.get("interrupted") else details.get("text")
        cut = "  [interrupted: caller heard only this]" if details.get("interrupted") else ""
        return f"{who}: {text}{cut}"
    if event_type == "call.agent.tool_called":
        return (f"tool {details.get('name')}({json.dumps(details.get('arguments'))}) -> "
                f"{json.dumps(details.get('result'))}")
    if event_type == "call.agent.interrupted":
        return f"barge-in: agent audio stopped {details.get('barge_in_stop_ms')} ms after " \
               "the caller's speech was confirmed"
    keep = {k: v for k, v in details.items() if k in ("end_reason", "sip_status", "s3_key",
                                                       "turns", "reason", "duration_s")}
    return f"{event_type} {json.dumps(keep) if keep else ''}".rstrip()


class Timeline:
    """Prints a call's events, one line each, timed from the first one printed."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.origin = 0.0

    def print_event(self, event_id: str, event_type: str, created_at: str,
                    details: dict[str, Any]) -> None:
        """`[t]` is when the event was written, in seconds since the call was created."""
        self.seen.add(event_id)
        at = datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
        self.origin = self.origin or at
        print(f"  [{at - self.origin:5.1f}s] {describe(event_type, details)}", flush=True)

    def print_missed(self, events: list[dict[str, Any]]) -> None:
        """Events from GET /v1/calls/{id}/events not printed yet."""
        for event in events:
            if event["id"] not in self.seen:
                self.print_event(event["id"], event["type"], event["created_at"],
                                 event.get("details") or {})


def print_transcript(transcript: dict[str, Any]) -> None:
    """The call's turns and per-turn latencies, from GET /v1/calls/{id}/transcript."""
    print("\n== transcript (GET /v1/calls/{id}/transcript)")
    for turn in transcript.get("turns", []):
        text = turn["text"]
        if turn.get("interrupted"):
            text = f"{turn.get('heard_text')} [...interrupted; planned: {text}]"
        tools = "".join(f"  -> {t['name']}({json.dumps(t['arguments'])})"
                        for t in turn.get("tool_calls") or [])
        print(f"  {turn['start_ms'] / 1000:6.1f}s {turn['role']:>6}: {text}{tools}")
    print("\n== per-turn latency, ms (call.metrics; voice-to-voice = end of caller speech "
          "-> first agent audio sent)")
    print(f"  {'turn':>4} {'stt_final':>9} {'endpoint':>8} {'llm_1st':>7} {'tts_1st':>7} "
          f"{'v2v':>6} {'added':>6} {'barge_stop':>10}")
    for m in transcript.get("metrics", []):
        cells = [m.get(k) for k in ("stt_final_ms", "endpoint_ms", "llm_first_token_ms",
                                    "tts_first_audio_ms", "voice_to_voice_ms",
                                    "platform_added_ms", "barge_in_stop_ms")]
        shown = ["-" if c is None else f"{c:.0f}" for c in cells]
        print(f"  {m['turn_index']:>4} {shown[0]:>9} {shown[1]:>8} {shown[2]:>7} {shown[3]:>7} "
              f"{shown[4]:>6} {shown[5]:>6} {shown[6]:>10}")


def print_summary(call: dict[str, Any]) -> None:
    print(f"\ncall {call['id']}: {call['status']}, end_reason {call['end_reason']}, "
          f"{call['duration_s']} s, MOS {(call.get('quality') or {}).get('mos')}")
