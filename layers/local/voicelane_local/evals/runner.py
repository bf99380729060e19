"""Runs scenarios as real calls on the local platform and records what they produced.

Each scenario gets its own app (with a key), a trunk pointing at its own simulated phone
(`voicelane_media.sim`: the project's SIP UA and RTP on loopback, G.711, the uplink through a
relay that loses and delays packets), its agent (POST /v1/agents, with mocked HTTP tools
pointed at a loopback tool server), a number, and one call placed through the public API. The
media node runs the agent loop with the agent's own engines. Afterwards the runner reads what
a user would: the call, its events and transcript from the API, and what the phone heard.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from voicelane.domain.models import RateLimits
from voicelane_media.sim import CallerLine, Impairment, PhoneThread

from voicelane_local.evals.audio import noise_frames, render_all
from voicelane_local.evals.record import CallRecord
from voicelane_local.evals.schema import Scenario
from voicelane_local.platform import LocalPlatform

FINAL = ("completed", "failed", "busy", "no_answer", "canceled")
CALLEE = "+14155550199"


class MockTools:
    """The scenarios' HTTP tools on loopback: ``/<scenario>/<tool>`` answers the scenario's
    ``mock_tools`` entry and records what the agent posted."""

    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"unparsed": raw.decode(errors="replace")}
                owner.requests.append({"path": self.path, "body": body,
                                       "call_id": self.headers.get("Voicelane-Call-Id"),
                                       "tool": self.headers.get("Voicelane-Tool")})
                answer = owner.answers.get(self.path)
                data = json.dumps(answer if answer is not None else {"error": "not mocked"}).encode()
                self.send_response(200 if answer is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, name="eval-tools", daemon=True).start()

    def url(self, scenario: str, tool: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{scenario}/{tool}"

    def mock(self, scenario: Scenario, agent: dict[str, Any]) -> dict[str, Any]:
        """The agent body with its HTTP tools pointed here (but those in ``real_tools``);
        a tool without a ``mock_tools`` answer gets a 404 ``{"error": "not mocked"}``."""
        body = copy.deepcopy(agent)
        for tool in body.get("tools") or []:
            name = tool.get("name")
            if tool.get("type", "http") != "http" or name in scenario.real_tools:
                continue
            tool["url"] = self.url(scenario.name, name)
            if name in scenario.mock_tools:
                self.answers[f"/{scenario.name}/{name}"] = scenario.mock_tools[name]
        return body

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def caller_lines(scenario: Scenario) -> list[CallerLine]:
    """The scenario's caller part for the simulated phone, audio rendered now."""
    rendered = render_all(scenario.caller, scenario.voice, scenario.background)
    lines = []
    for line, audio in zip(scenario.caller, rendered, strict=True):
        lines.append(CallerLine(line.text, when=line.when, barge_after_ms=line.barge_after_ms,
                                dtmf=line.dtmf, audio=None if audio is None else audio[0],
                                bounds=None if audio is None else audio[1],
                                silence_ms=line.after_silence_ms or scenario.quiet_ms))
    return lines


def run_call(platform: LocalPlatform, scenario: Scenario, agent: dict[str, Any],
             tools: MockTools, rtp_ports: tuple[int, int]) -> CallRecord:
    """Place the scenario's call and wait for its whole outcome; failures are recorded in
    ``error`` (a scenario that cannot run is a failed scenario, not a crashed suite)."""
    started = time.monotonic()
    record = CallRecord(scenario.name)
    phone: PhoneThread | None = None
    try:
        container = platform.container
        limits = RateLimits(create_call=1000, sessions=1000, reads=100_000, lists=100_000,
                            writes=100_000)
        app = container.apps.create_app(f"eval-{scenario.name}", destination_allow_list=["*"],
                                        allow_private_webhooks=True, rate_limits=limits)
        _, key = container.apps.create_key(app.app_id, "test")
        net = scenario.network
        background = (noise_frames(scenario.background, net.seed + 100)
                      if scenario.background else None)
        phone = PhoneThread(caller_lines(scenario), impairment=Impairment(
            loss_pct=net.loss_pct, jitter_ms=net.jitter_ms, seed=net.seed), wait_s=30,
            hangup_wait_s=25, rtp_ports=rtp_ports, background=background).start()
        with httpx.Client(base_url=platform.api_url, timeout=20,
                          headers={"Authorization": f"Bearer {key}"}) as api:
            def ok(resp: httpx.Response) -> Any:
                if resp.status_code >= 300:
                    raise RuntimeError(f"{resp.request.method} {resp.request.url.path}: "
                                       f"{resp.status_code} {resp.text}")
                return resp.json()

            ok(api.post("/v1/trunks", json={"name": "eval-phone", "host": "127.0.0.1",
                                            "port": phone.port, "transport": "udp"}))
            created = ok(api.post("/v1/agents", json=tools.mock(scenario, agent)))
            number = f"+1415{random.randrange(10**6, 10**7)}"
            ok(api.post("/v1/numbers", json={"number": number}))
            call = ok(api.post("/v1/calls", json={"from": number, "to": CALLEE,
                                                  "agent_id": created["id"],
                                                  "context": {"scenario": scenario.name}}))
            report = phone.wait(scenario.timeout_s)
            deadline = time.monotonic() + 30
            while (done := ok(api.get(f"/v1/calls/{call['id']}")))["status"] not in FINAL:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the call stayed {done['status']}")
                time.sleep(0.25)
            record.call = done
            record.phone = report.as_dict()
            record.transcript = _transcript(api, call["id"])
            record.events = ok(api.get(f"/v1/calls/{call['id']}/events"))["data"]
            record.tool_requests = [r for r in tools.requests if r["call_id"] == call["id"]]
    except Exception as exc:  # reported as this scenario's failure
        record.error = f"{type(exc).__name__}: {exc}"
    finally:
        if phone is not None:
            phone.stop()
        record.seconds = round(time.monotonic() - started, 1)
    return record


def _transcript(api: httpx.Client, call_id: str, wait_s: float = 15) -> dict[str, Any]:
    """The call's transcript; it is stored as the agent ends, just before the call does."""
    deadline = time.monotonic() + wait_s
    while True:
        resp = api.get(f"/v1/calls/{call_id}/transcript")
        if resp.status_code == 200:
            data: dict[str, Any] = resp.json()
            return data
        if resp.status_code != 404 or time.monotonic() > deadline:
            raise RuntimeError(f"GET transcript: {resp.status_code} {resp.text}")
        time.sleep(0.25)
