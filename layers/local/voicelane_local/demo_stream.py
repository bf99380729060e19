"""The demo's second call: the same agent answers a Twilio Media Stream.

``POST /v1/sessions`` with ``connection_type: twilio`` gives the TwiML a Twilio number would
answer with and a one-time token; the dev harness's provider client (``stream_provider``) then
connects to the local media node exactly as Twilio would: ``connected``, ``start`` (the token in
its ``customParameters``), 20 ms mu-law frames in real time, the agent's marks echoed once its
audio has played, ``stop``. What is printed afterwards comes from the public API, as for the
phone call.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from voicelane_local.demo_output import Timeline, check, print_summary, print_transcript
from voicelane_local.stream_provider import StreamPeer

STREAM_CALLER_SAYS = "What are your opening hours?"  # one breath: one caller turn
FINAL = ("completed", "failed", "busy", "no_answer", "canceled")


def short_twiml(twiml: str, token: str, keep: int = 12) -> str:
    """The TwiML with its (long, one-time) token cut to its first ``keep`` characters."""
    return twiml.replace(token, f"{token[:keep]}...") if len(token) > keep else twiml


async def _as_twilio(url: str, token: str, says: str) -> StreamPeer:
    """Connect as Twilio: hear the greeting, say ``says``, hear the reply, hang up."""
    from voicelane_media.media.audio import synthesize

    speech = await synthesize(says, "en-us", 8000)  # espeak-ng, as the phone's caller
    async with StreamPeer(url, "twilio", token=token) as peer:
        await peer.begin()
        greeted = await peer.until_played(timeout_s=20)
        heard = peer.heard
        print(f"  twilio side: greeting {'heard' if greeted else 'NOT heard'} "
              f"({heard.media_frames} media frames, marks echoed {len(heard.echoed)})",
              flush=True)
        before = heard.media_frames
        print(f"  twilio side: caller says {says!r} ({speech.shape[0] / 8000:.1f} s of audio)",
              flush=True)
        await peer.stream(speech)
        replied = await peer.until_played(after_frames=before, timeout_s=25)
        print(f"  twilio side: reply {'heard' if replied else 'NOT heard'} "
              f"({heard.media_frames - before} media frames, marks echoed "
              f"{len(heard.echoed)}/{len(heard.marks)}, clears {heard.clears}); sending stop",
              flush=True)
        await peer.stop()
        await peer.closed(5)
    return peer


def _wait_final(api: httpx.Client, call_id: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while (call := check(api.get(f"/v1/calls/{call_id}")))["status"] not in FINAL:
        if time.monotonic() > deadline:
            raise SystemExit(f"demo failed: the stream call stayed {call['status']}")
        time.sleep(0.5)
    result: dict[str, Any] = call
    return result


def run_stream_call(api: httpx.Client, agent_id: str, output: Path, *,
                    says: str = STREAM_CALLER_SAYS, timeout_s: float = 60) -> dict[str, Any]:
    """One call over a Twilio-dialect stream to agent ``agent_id``; returns the ended call and
    writes stream-call.json, stream-transcript.json and stream-events.json to ``output``."""
    print("\n== a call over a Twilio Media Stream (POST /v1/sessions, connection_type twilio)")
    session = check(api.post("/v1/sessions", json={"connection_type": "twilio",
                                                   "agent_id": agent_id}))
    call_id = session["call_id"]
    print(f"session {session['id']} -> call {call_id}; a Twilio number would answer with "
          "this TwiML (token shortened):")
    twiml = short_twiml(session["instructions"]["twiml"], session["token"])
    print(f"  {twiml}")
    print(f"connecting to {session['connect_url']} as Twilio would...", flush=True)
    try:
        peer = asyncio.run(asyncio.wait_for(
            _as_twilio(session["connect_url"], session["token"], says), timeout_s))
    except TimeoutError:
        raise SystemExit(f"demo failed: the stream call took over {timeout_s:.0f} s") from None
    call = _wait_final(api, call_id, 20)
    time.sleep(1.0)  # the last events (recording saved) land just after the call ends
    transcript = check(api.get(f"/v1/calls/{call_id}/transcript"))
    events = check(api.get(f"/v1/calls/{call_id}/events"))["data"]
    print(f"\n== stream call {call_id} timeline (GET /v1/calls/{{id}}/events)")
    Timeline().print_missed(events)
    print_transcript(transcript)
    quality = call.get("quality") or {}
    figures = ("dialect", "frames_in", "bad_messages", "marks_sent", "marks_acked",
               "clears_sent", "close_code")
    print("\nstream: " + ", ".join(f"{k} {quality.get(k)}" for k in figures)
          + f"; the provider heard {peer.heard.media_frames} media frames")
    print_summary(call)
    output.mkdir(parents=True, exist_ok=True)
    (output / "stream-call.json").write_text(json.dumps(call, indent=2))
    (output / "stream-transcript.json").write_text(json.dumps(transcript, indent=2))
    (output / "stream-events.json").write_text(json.dumps(events, indent=2))
    print(f"wrote {output}/: stream-call.json, stream-transcript.json, stream-events.json")
    if call["status"] != "completed":
        raise SystemExit(f"demo failed: the stream call ended {call['status']} "
                         f"({call.get('end_reason')})")
    return call
