"""The phone-path evaluation harness: scripted callers through the real media path.

Each scenario is an app with a trunk pointing at its own simulated phone (SIP UA + RTP on
loopback, caller lines synthesised by TTS, G.711 over RTP through a relay that injects uplink
loss and jitter), an agent, and one call placed through the public API. The media node runs
the agent loop on the call; the harness collects what the API shows afterwards (call,
events, transcript) and what the phone heard, so each test asserts the outcome a user sees.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from voicelane.domain.agent import AgentSpec
from voicelane.domain.models import RateLimits
from voicelane_local.platform import LocalPlatform
from voicelane_media.agent.engines import build_engines
from voicelane_media.agent.fakes import QueuedSTT, ToneTTS
from voicelane_media.agent.local_engines import SileroVAD
from voicelane_media.agent.providers import Engines
from voicelane_media.agent.scripted import ScriptedDialogue
from voicelane_media.sim import CallerLine, Impairment, PhoneReport, PhoneThread

from tests.fresh_numbers import e164

FINAL = ("completed", "failed", "busy", "no_answer", "canceled", "voicemail")


@dataclass
class Scenario:
    """A caller script, the agent it talks to, and the engines it runs on.

    `stt_texts` set = a fake STT that "hears" these texts, one per caller utterance (the
    audio still crosses SIP/RTP, the jitter buffer and silero VAD); None = whisper tiny.en.
    """

    name: str
    agent: dict[str, Any]
    lines: list[CallerLine]
    stt_texts: list[str] | None = None
    impairment: Impairment = field(default_factory=Impairment)
    rtp_base: int = 47000


@dataclass
class Outcome:
    scenario: str
    call: dict[str, Any]
    events: list[dict[str, Any]]
    transcript: dict[str, Any]
    phone: PhoneReport
    tool_requests: list[dict[str, Any]]
    seconds: float

    def event_types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def turns(self, role: str) -> list[dict[str, Any]]:
        return [t for t in self.transcript.get("turns", []) if t["role"] == role]

    def tool_calls(self) -> list[dict[str, Any]]:
        return [c for t in self.turns("agent") for c in t.get("tool_calls") or []]


class ToolServer:
    """An app's HTTP tool endpoint on loopback: records what the agent posted."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                owner.requests.append({"path": self.path, "body": body,
                                       "call_id": self.headers.get("Voicelane-Call-Id"),
                                       "tool": self.headers.get("Voicelane-Tool")})
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/tool"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class EngineRouter:
    """The media node's engine factory during the harness: fake STT for scenarios that ask
    for it (by agent name), the agent's own engines otherwise."""

    def __init__(self) -> None:
        self.stt_texts: dict[str, list[str]] = {}

    def __call__(self, spec: AgentSpec) -> Engines:
        texts = self.stt_texts.get(spec.name)
        if texts is None:
            return build_engines(spec)
        return Engines(vad=SileroVAD(), stt=QueuedSTT(texts), llm=ScriptedDialogue(spec.script),
                       tts=ToneTTS(sample_rate=8000, ms_per_word=180),
                       names={"stt": "queued-fake", "llm": "scripted", "tts": "tone-fake"})


def app_key(platform: LocalPlatform, name: str) -> str:
    """An API key of a new app that may dial anywhere, with limits no test reaches."""
    limits = RateLimits(create_call=1000, sessions=1000, reads=100_000, lists=100_000,
                        writes=100_000)
    app = platform.container.apps.create_app(name, destination_allow_list=["*"],
                                             allow_private_webhooks=True, rate_limits=limits)
    return platform.container.apps.create_key(app.app_id, "test")[1]


def api_ok(resp: httpx.Response) -> Any:
    """The JSON of a 2xx answer; an assertion naming the route otherwise."""
    assert resp.status_code < 300, f"{resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json()


def call_the_phone(api: httpx.Client, phone: PhoneThread, call: dict[str, Any],
                   phone_wait_s: float) -> tuple[dict[str, Any], PhoneReport]:
    """Point a trunk at the simulated phone, dial it from a new number with ``call``'s fields,
    and wait for the phone's report and the call's final status (its record is returned)."""
    api_ok(api.post("/v1/trunks", json={"name": "sim", "host": "127.0.0.1",
                                        "port": phone.port, "transport": "udp"}))
    number = e164()
    api_ok(api.post("/v1/numbers", json={"number": number}))
    placed = api_ok(api.post("/v1/calls", json={"from": number, "to": "+14155550199", **call}))
    report = phone.wait(phone_wait_s)
    deadline = time.monotonic() + 20
    while (done := api_ok(api.get(f"/v1/calls/{placed['id']}")))["status"] not in FINAL:
        assert time.monotonic() < deadline, f"call stayed {done['status']}"
        time.sleep(0.2)
    return done, report


def run_scenario(platform: LocalPlatform, scenario: Scenario, router: EngineRouter,
                 tool: ToolServer | None = None, timeout_s: float = 100) -> Outcome:
    """Place one call to a fresh simulated phone and wait for the whole outcome."""
    started = time.monotonic()
    key = app_key(platform, f"phone-{scenario.name}")
    if scenario.stt_texts is not None:
        router.stt_texts[scenario.agent["name"]] = list(scenario.stt_texts)
    phone = PhoneThread(scenario.lines, impairment=scenario.impairment, wait_s=20,
                        hangup_wait_s=15,
                        rtp_ports=(scenario.rtp_base, scenario.rtp_base + 99)).start()
    try:
        with httpx.Client(base_url=platform.api_url, timeout=15,
                          headers={"Authorization": f"Bearer {key}"}) as api:
            agent = api_ok(api.post("/v1/agents", json=scenario.agent))
            done, report = call_the_phone(api, phone, {
                "agent_id": agent["id"], "context": {"scenario": scenario.name}}, timeout_s)
            transcript = api_ok(api.get(f"/v1/calls/{done['id']}/transcript"))
            events = api_ok(api.get(f"/v1/calls/{done['id']}/events"))["data"]
    finally:
        phone.stop()
    return Outcome(scenario.name, done, events, transcript, report,
                   list(tool.requests) if tool else [], time.monotonic() - started)


def latency_lines(outcome: Outcome) -> list[str]:
    """Figures worth printing for a scenario: per-turn platform metrics and as heard."""
    lines = []
    for m in outcome.transcript.get("metrics", []):
        shown = {k.removesuffix("_ms"): v for k, v in m.items() if k != "turn_index" and v}
        if shown:
            lines.append(f"  turn {m['turn_index']}: {shown}")
    for line in outcome.phone.lines:
        heard = []
        if line.agent_reply_ms is not None:
            heard.append(f"agent answered after {line.agent_reply_ms:.0f} ms")
        if line.agent_stop_ms is not None:
            heard.append(f"agent quiet {line.agent_stop_ms:.0f} ms after caller started")
        lines.append(f"  phone, {line.when} {line.text[:40]!r}: {', '.join(heard) or '-'}")
    relay = outcome.phone.relay
    lines.append(f"  uplink relay: {relay}; call quality {outcome.call.get('quality', {}).get('mos')}"
                 f" MOS; scenario took {outcome.seconds:.1f} s")
    return lines
