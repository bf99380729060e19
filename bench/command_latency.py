"""Event-to-command-applied latency of the three ways an app controls a call, in one run.

A sipp caller dials a number of an app with no agent; the app answers the call, then hangs up.
The figure is the time from the call's `call.initiated` event (stored by the media node) to
its `call.answered` event (the answer applied on the node), both stored timestamps:

- rest:      the event reaches the app as an ordinary webhook (stream -> router -> queue ->
             dispatcher -> POST), and the app sends POST /v1/calls/{id}/actions/answer;
- webhook:   the app's endpoint opted into commands: the node POSTs the event synchronously
             and the answer `{"commands": [{"action": "answer"}, {"action": "hangup"}]}` runs;
- websocket: the event reaches the app on /v1/events/stream and the app sends
             `{"type": "command", "action": "answer"}` on the same connection.

    .venv/bin/python bench/command_latency.py [--calls 10]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.moto_server import free_port
from voicelane_local.platform import LocalPlatform
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.interop.ivr_app import NO_COMMANDS, Answer, IvrApp, commands

SCENARIO = Path(__file__).resolve().parents[1] / "tests/interop/scenarios/uac_hung_up.xml"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ts(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["created_at"]).replace("Z", "+00:00")).timestamp()


class Bench:
    def __init__(self, platform: LocalPlatform, node: LocalNode, sipp: str, tmp: str) -> None:
        self.platform = platform
        self.node = node
        self.sipp = sipp
        self.tmp = tmp

    def app(self, name: str) -> tuple[str, httpx.Client]:
        c = self.platform.container
        limits = RateLimits(create_call=100_000, sessions=1000, reads=100_000, lists=100_000,
                            writes=100_000)
        app = c.apps.create_app(name, destination_allow_list=["*"], rate_limits=limits,
                                allow_private_webhooks=True, max_concurrent_calls=100)
        _, key = c.apps.create_key(app.app_id, "test")
        return key, httpx.Client(base_url=self.platform.api_url, timeout=30,
                                 headers={"Authorization": f"Bearer {key}"})

    def call(self, client: httpx.Client, number: str) -> float:
        """One call to `number`; ms from call.initiated to call.answered."""
        port = free_port()
        proc = subprocess.run(
            [self.sipp, "-sf", str(SCENARIO), "-s", number, "-i", "127.0.0.1", "-p", str(port),
             "-mi", "127.0.0.1", "-nostdin", "-m", "1", "-timeout", "30s", "-timeout_error",
             f"127.0.0.1:{self.node.sip_port}"], cwd=self.tmp, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, check=False)
        calls = client.get("/v1/calls", params={"limit": 1}).json()["data"]
        call_id = calls[0]["id"]
        for _ in range(100):
            events = client.get(f"/v1/calls/{call_id}/events").json()["data"]
            types = [e["type"] for e in events]
            if "call.completed" in types or "call.failed" in types:
                break
            time.sleep(0.05)
        if proc.returncode != 0 or "call.answered" not in types:
            raise RuntimeError(f"call {call_id} failed: sipp {proc.returncode}, {types}")
        by_type = {e["type"]: e for e in events}
        return (_ts(by_type["call.answered"]) - _ts(by_type["call.initiated"])) * 1000


def run(calls: int) -> int:
    sipp = shutil.which("sipp")
    if sipp is None:
        print("sipp is not installed (apt-get install sip-tester)")
        return 1
    platform = LocalPlatform(api_port=free_port(), env_file=None, with_media=False).start()
    node = LocalNode(local_settings(sip_port=0, internal_http_port=0, rtp_port_min=45000,
                                    rtp_port_max=45999, poll_wait_s=1, node_id="bench-commands",
                                    inbound_answer_timeout_s=10),
                     platform.container.media_gateway).start()
    results: dict[str, list[float]] = {}
    receivers: list[IvrApp] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bench = Bench(platform, node, sipp, tmp)

            # webhook answer
            _, client = bench.app("bench-webhook")
            hook = IvrApp(lambda e: commands({"action": "answer"}, {"action": "hangup"})
                          if e["type"] == "call.initiated" else NO_COMMANDS).start()
            receivers.append(hook)
            client.post("/v1/webhooks", json={"url": hook.url, "event_types": ["call.*"],
                                              "commands": True}).raise_for_status()
            number = "+14155550801"
            client.post("/v1/numbers", json={"number": number}).raise_for_status()
            results["webhook"] = [bench.call(client, number) for _ in range(calls)]

            # REST after an ordinary webhook
            _, rest = bench.app("bench-rest")

            def rest_script(event: dict[str, Any]) -> Answer:
                call_id = event["data"]["id"]
                action = {"call.initiated": "answer", "call.answered": "hangup"}.get(event["type"])
                if action:
                    threading.Thread(target=rest.post, daemon=True, args=(
                        f"/v1/calls/{call_id}/actions/{action}",), kwargs={"json": {}}).start()
                return NO_COMMANDS

            plain = IvrApp(rest_script).start()
            receivers.append(plain)
            rest.post("/v1/webhooks", json={"url": plain.url, "event_types": ["call.*"]}
                      ).raise_for_status()
            number = "+14155550802"
            rest.post("/v1/numbers", json={"number": number}).raise_for_status()
            results["rest"] = [bench.call(rest, number) for _ in range(calls)]

            # WebSocket
            key, wsc = bench.app("bench-ws")
            number = "+14155550803"
            wsc.post("/v1/numbers", json={"number": number}).raise_for_status()
            url = platform.api_url.replace("http://", "ws://") + "/v1/events/stream"
            stop = threading.Event()

            def drive() -> None:
                with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
                    while not stop.is_set():
                        try:
                            msg = json.loads(ws.recv(timeout=0.5))
                        except TimeoutError:
                            continue
                        action = {"call.initiated": "answer",
                                  "call.answered": "hangup"}.get(str(msg.get("type")))
                        if action:
                            ws.send(json.dumps({"type": "command", "action": action,
                                                "call_id": msg["data"]["id"]}))

            driver = threading.Thread(target=drive, daemon=True)
            driver.start()
            time.sleep(0.5)
            results["websocket"] = [bench.call(wsc, number) for _ in range(calls)]
            stop.set()
            driver.join(5)
    finally:
        for r in receivers:
            r.stop()
        node.stop()
        platform.stop()
    print(f"{'path':>10} {'calls':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for path in ("rest", "webhook", "websocket"):
        v = results[path]
        print(f"{path:>10} {len(v):>6} {statistics.median(v):>7.0f} {_pct(v, 0.95):>7.0f} "
              f"{max(v):>7.0f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=10)
    sys.exit(run(parser.parse_args().calls))
