"""`make demo`: an AI agent holds a real phone conversation on the local platform.

The local platform (moto, API, runner, media node) places a call through an app trunk to a
simulated phone (a SIP UA on loopback that speaks a scripted caller part through TTS over RTP
and listens). The agent runs with the local engines (silero VAD, faster-whisper tiny.en, the
`scripted` dialogue engine, piper TTS): greeting, caller turns recognised by STT, a booking
through an HTTP tool, a barge-in, and the agent ends the call. Everything shown comes from the
public API (live events over WS /v1/events/stream, then GET calls/transcript/recording).
Then the same agent takes one call over a Twilio Media Stream (``demo_stream``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from voicelane_local.demo_output import Timeline, check, print_summary, print_transcript
from voicelane_local.dev_softphone import softphone_url
from voicelane_local.platform import LocalPlatform

CALLER_NUMBER = "+14155550199"
AGENT_NUMBER = "+14155550100"

DEMO_SCRIPT: dict[str, Any] = {
    # Keyword intents: tiny.en on 8 kHz audio gets words wrong, the intents only need one.
    "start": "main",
    "states": {
        "main": {
            "intents": [
                {"name": "book_day", "regex": r"(?P<day>monday|tuesday|wednesday|thursday|friday)",
                 "reply": "Let me check {day} for you.",
                 "tool": {"name": "book_slot", "arguments": {"day": "{day}"}},
                 "after_tool": "You are booked for {day} at {result[time]}, and your reference "
                               "is {result[reference]}. While I have you, we now run an evening "
                               "clinic on Thursdays, there is free parking behind the building, "
                               "and we offer payment plans for larger treatments. Is there "
                               "anything else I can help you with today?",
                 "next": "booked"},
                {"name": "book", "keywords": ["book", "booking", "appointment", "schedule"],
                 "reply": "Of course. Which day would you like to come in?"},
                {"name": "hours", "keywords": ["hours", "open", "opening", "close"],
                 "reply": "We are open from eight to six, Monday to Friday."},
            ],
            "fallback": "Sorry, I did not catch that. Would you like to book an appointment?",
        },
        "booked": {
            "intents": [
                {"name": "hours", "keywords": ["hours", "hour", "open", "opening", "close"],
                 "reply": "Sure. We are open from eight to six, Monday to Friday. "
                          "Anything else?"},
                {"name": "bye", "keywords": ["bye", "goodbye", "no", "nothing", "all", "thanks",
                                             "thank"],
                 "reply": "Thank you for calling Acme Dental. Goodbye!",
                 "tool": {"name": "end_call"}},
            ],
            "fallback": "Sorry, I did not catch that. You can ask about our hours, or say goodbye.",
        },
    },
}


def demo_agent(booking_url: str) -> dict[str, Any]:
    return {
        "name": "front-desk",
        "system_prompt": "You are the front desk of Acme Dental. Be brief and friendly.",
        "greeting": "Hello, this is Acme Dental. How can I help you today?",
        "first_speaker": "agent", "interruptible": True, "max_duration_s": 120,
        "inactivity_timeout_s": 20, "inactivity_action": "prompt", "recording": True,
        "engines": {"stt": "local", "llm": "scripted", "tts": "local"},
        "script": DEMO_SCRIPT,
        "tools": [
            {"name": "end_call", "type": "end_call", "description": "End the call"},
            {"name": "book_slot", "type": "http", "url": booking_url, "timeout_s": 5,
             "description": "Book the first free slot on a day",
             "parameters": {"type": "object", "properties": {"day": {"type": "string"}},
                            "required": ["day"]}},
        ],
    }


def caller_script() -> list[Any]:
    from voicelane_media.sim import CallerLine

    return [
        CallerLine("Hi! I would like to book an appointment for Tuesday, please."),
        CallerLine("Sorry to interrupt, what are your opening hours?", when="barge_in",
                   barge_after_ms=3500),
        CallerLine("No, that's all. Thank you, goodbye!"),
    ]


class BookingServer:
    """A tiny booking endpoint on loopback: the agent's HTTP tool posts {"day": ...} here."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                owner.requests.append({"body": body, "call_id": self.headers.get(
                    "Voicelane-Call-Id")})
                answer = json.dumps({"reference": "AC-4821", "time": "ten a.m.",
                                     "day": str(body.get("day", ""))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/book"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class LiveEvents(Timeline):
    """Prints the call's events as they happen, from WS /v1/events/stream."""

    def __init__(self, api_url: str, api_key: str) -> None:
        super().__init__()
        self.url = api_url.replace("http://", "ws://") + "/v1/events/stream"
        self.api_key = api_key
        self.call_id: str | None = None
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-events", daemon=True)

    def start(self) -> LiveEvents:
        self._thread.start()
        return self

    def show(self, payload: dict[str, Any]) -> None:
        data = payload.get("data") or {}
        if payload.get("id") in self.seen or (self.call_id and data.get("id") != self.call_id):
            return
        self.print_event(str(payload.get("id")), str(payload.get("type")),
                         str(payload.get("created_at")), data.get("payload") or {})

    def _run(self) -> None:
        from websockets.sync.client import connect

        try:
            with connect(self.url, additional_headers={
                    "Authorization": f"Bearer {self.api_key}"}) as ws:
                while not self._stop.is_set():
                    try:
                        message = ws.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    self.show(json.loads(message))
        except Exception as exc:  # the live view is best effort; the timeline is in the API
            print(f"  (live event stream unavailable: {exc})")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def _warm_up() -> None:
    """Load the local models once before the call (they are shared by every call)."""
    from voicelane.domain.agent import AgentSpec
    from voicelane_media.agent.engines import build_engines

    build_engines(AgentSpec(script=DEMO_SCRIPT))


def _print_results(call: dict[str, Any], transcript: dict[str, Any], phone: Any) -> None:
    print_transcript(transcript)
    print("\n== as heard on the phone (through RTP, jitter buffer and pacing)")
    for line in phone.lines:
        extra = []
        if line.agent_reply_ms is not None:
            extra.append(f"agent answered {line.agent_reply_ms:.0f} ms after the caller stopped")
        if line.agent_stop_ms is not None:
            extra.append(f"agent went quiet {line.agent_stop_ms:.0f} ms after the caller "
                         "started talking over it")
        print(f"  caller ({line.when}): {line.text!r}: {'; '.join(extra) or '-'}")
    print_summary(call)


def _write_plots(transcript: dict[str, Any], phone: Any, output: Path) -> None:
    """The eval's per-turn latency waterfall and who-spoke-when timeline for this call."""
    from voicelane_local.evals.plots import timeline_svg, waterfall_svg
    from voicelane_local.evals.scoring import turn_latencies

    heard = [line.agent_reply_ms for line in phone.lines]  # every demo line expects a reply
    turns = turn_latencies(transcript, heard)
    (output / "latency.svg").write_text(waterfall_svg(turns, "make demo: per-turn latency"))
    (output / "timeline.svg").write_text(timeline_svg(phone.as_dict(), "make demo: who spoke "
                                                                       "when"))


def _scheduled_callback(api: httpx.Client) -> None:
    """The rest of the Calls API: schedule a callback, list calls, cancel the callback."""
    when = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    callback = check(api.post("/v1/calls", json={
        "from": AGENT_NUMBER, "to": CALLER_NUMBER, "scheduled_at": when,
        "metadata": {"source": "demo", "kind": "callback"}}))
    print(f"\n== scheduled a callback {callback['id']} for {callback['scheduled_at']} "
          f"(status {callback['status']})")
    listed = check(api.get("/v1/calls", params={"limit": 5}))["data"]
    print("GET /v1/calls: " + ", ".join(f"{c['id']} {c['status']}" for c in listed))
    canceled = check(api.post(f"/v1/calls/{callback['id']}/hangup"))
    timeline = check(api.get(f"/v1/calls/{callback['id']}/events"))["data"]
    print(f"canceled it: status {canceled['status']}, end_reason {canceled['end_reason']}; "
          "timeline " + " -> ".join(f"#{e['sequence']} {e['type']}" for e in timeline))


def run_demo(api_port: int = 8000, output: Path = Path("demo-output")) -> int:
    from voicelane_media.sim import PhoneThread

    # The local runner's functions print their Powertools metrics (EMF): not for this screen.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    print("Starting the local Voicelane platform (moto on loopback, API, runner, media node)...")
    platform = LocalPlatform(api_port=api_port).start()
    booking = BookingServer()
    phone: PhoneThread | None = None
    live: LiveEvents | None = None
    try:
        print("Loading the local engines (silero VAD, whisper tiny.en, piper)...")
        _warm_up()
        phone = PhoneThread(caller_script()).start()
        print(f"simulated phone {CALLER_NUMBER} listening on sip:127.0.0.1:{phone.port}")
        api = httpx.Client(base_url=platform.api_url, timeout=30,
                           headers={"Authorization": f"Bearer {platform.api_key}"})
        check(api.post("/v1/trunks", json={"name": "sim-phone", "host": "127.0.0.1",
                                            "port": phone.port, "transport": "udp"}))
        agent = check(api.post("/v1/agents", json=demo_agent(booking.url)))
        check(api.post("/v1/numbers", json={"number": AGENT_NUMBER, "agent_id": agent["id"]}))
        print(f"agent {agent['id']} ({agent['name']}): engines {agent.get('engines')}")
        live = LiveEvents(platform.api_url, platform.api_key).start()
        time.sleep(0.3)
        call = check(api.post("/v1/calls", json={
            "from": AGENT_NUMBER, "to": CALLER_NUMBER, "agent_id": agent["id"],
            "context": {"customer": "Sam", "clinic": "Acme Dental"},
            "metadata": {"source": "demo"}}, headers={"Idempotency-Key": f"demo-{time.time()}"}))
        live.call_id = call["id"]
        print(f"\n== live call {call['id']} (WS /v1/events/stream)")
        report = phone.wait(150)
        deadline = time.monotonic() + 30
        while (done := check(api.get(f"/v1/calls/{call['id']}")))["status"] not in (
                "completed", "failed", "busy", "no_answer", "canceled"):
            if time.monotonic() > deadline:
                raise SystemExit(f"demo failed: the call stayed {done['status']}")
            time.sleep(1.0)
        time.sleep(2.0)
        live.stop()
        transcript = check(api.get(f"/v1/calls/{call['id']}/transcript"))
        recording = check(api.get(f"/v1/calls/{call['id']}/recording"))
        events = check(api.get(f"/v1/calls/{call['id']}/events"))["data"]
        live.print_missed(events)
        _print_results(done, transcript, report)
        output.mkdir(parents=True, exist_ok=True)
        (output / "transcript.json").write_text(json.dumps(transcript, indent=2))
        (output / "metrics.json").write_text(json.dumps(done.get("metrics"), indent=2))
        (output / "recording.wav").write_bytes(httpx.get(recording["download_url"]).content)
        (output / "call.json").write_text(json.dumps(done, indent=2))
        (output / "events.json").write_text(json.dumps(events, indent=2))
        (output / "phone.json").write_text(json.dumps(report.as_dict(), indent=2))
        _write_plots(transcript, report, output)
        print(f"\nwrote {output}/: transcript.json, metrics.json, recording.wav (dual-channel: "
              "caller left, agent right), call.json, events.json, phone.json, latency.svg "
              "(per-turn latency, as `voicelane eval` draws it), timeline.svg")
        print(f"booking endpoint received: {booking.requests}")
        _scheduled_callback(api)
        from voicelane_local.demo_stream import run_stream_call

        run_stream_call(api, agent["id"], output)
        page = softphone_url(platform)
        if page is not None:
            print("\n== softphone: call an agent or a phone number from a browser, or take "
                  "calls for a browser identity (docs/webrtc.md). `make dev` keeps the platform "
                  f"up and prints the page's URL; this run served it at {page}")
        return 0
    finally:
        if live is not None:
            live.stop()
        if phone is not None:
            phone.stop()
        booking.stop()
        platform.stop()
