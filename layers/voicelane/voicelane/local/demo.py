"""`make demo`: the main job on the local platform, through the public HTTP API only."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from voicelane.local.platform import LocalPlatform

DEMO_AGENT = {
    "name": "front-desk",
    "system_prompt": "You are the front desk of Acme Dental. Be brief and friendly.",
    "greeting": "Hello, this is Acme Dental. How can I help you today?",
    "first_speaker": "agent",
    "interruptible": True,
    "max_duration_s": 300,
    "inactivity_timeout_s": 20,
    "inactivity_action": "prompt",
    "recording": True,
    "tools": [{"name": "end_call", "type": "end_call", "description": "End the call"}],
}


def _show(title: str, data: Any) -> None:
    print(f"\n== {title}")
    print(json.dumps(data, indent=2))


def _check(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        raise SystemExit(f"demo failed: {resp.request.method} {resp.request.url} -> "
                         f"{resp.status_code} {resp.text}")
    return resp.json() if resp.content else None


def run_demo(api_port: int = 8000, output: Path = Path("demo-output")) -> int:
    print("Starting the local Voicelane platform (moto on loopback, API, local runner)...")
    platform = LocalPlatform(api_port=api_port).start()
    try:
        print(f"API {platform.api_url}  app {platform.app_id}  key {platform.api_key[:12]}...")
        api = httpx.Client(base_url=platform.api_url, timeout=30,
                           headers={"Authorization": f"Bearer {platform.api_key}"})
        agent = _check(api.post("/v1/agents", json=DEMO_AGENT))
        print(f"created agent {agent['id']} ({agent['name']})")
        number = _check(api.post("/v1/numbers", json={"number": "+14155550100",
                                                      "agent_id": agent["id"]}))
        print(f"registered number {number['number']}")
        call = _check(api.post(
            "/v1/calls",
            json={"from": "+14155550100", "to": "+14155550199", "agent_id": agent["id"],
                  "metadata": {"source": "demo"}, "client_state": "ZGVtbw=="},
            headers={"Idempotency-Key": f"demo-{int(time.time())}"},
        ))
        _show("call created (POST /v1/calls -> 201)", call)
        listed = _check(api.get("/v1/calls", params={"limit": 5}))
        print(f"\nGET /v1/calls lists {len(listed['data'])} call(s); newest: "
              f"{listed['data'][0]['id']} ({listed['data'][0]['status']})")
        time.sleep(0.5)
        canceled = _check(api.post(f"/v1/calls/{call['id']}/hangup"))
        print(f"\nPOST /v1/calls/{call['id']}/hangup -> status {canceled['status']} "
              f"(end_reason {canceled['end_reason']})")
        events = _check(api.get(f"/v1/calls/{call['id']}/events"))["data"]
        print("\n== timeline (GET /v1/calls/{id}/events)")
        for ev in events:
            print(f"  #{ev['sequence']} {ev['created_at']} {ev['type']}")
        output.mkdir(parents=True, exist_ok=True)
        (output / "call.json").write_text(json.dumps(canceled, indent=2))
        (output / "events.json").write_text(json.dumps(events, indent=2))
        print(f"\nwrote {output}/call.json and {output}/events.json")
        print("demo finished: a call was created, listed and canceled with its events.")
        return 0
    finally:
        platform.stop()
