"""Call setup through the whole local stack: API -> call-requests (SQS on moto) -> media node
claim (conditional write) -> INVITE to sipp -> 180/200 -> answered, then hangup -> BYE.

For each batch size N the API creates N calls as fast as 16 clients can; sipp (`-sn uas`)
answers them. Printed: creation rate, answered calls per second (first create to last
answered), create->answered latency p50/p99 and failures (must be 0).

    .venv/bin/python bench/call_setup_rate.py [--batches 10,50,100]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.moto_server import free_port
from voicelane_local.platform import LocalPlatform


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_batch(client: httpx.Client, number: str, n: int) -> dict[str, Any]:
    def create(_: int) -> tuple[str, float]:
        t0 = time.monotonic()
        resp = client.post("/v1/calls", json={"from": number, "to": "+14155550100"})
        resp.raise_for_status()
        return str(resp.json()["id"]), t0

    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        created = list(pool.map(create, range(n)))
    created_s = time.monotonic() - start
    answered: dict[str, float] = {}
    failed: dict[str, str] = {}
    deadline = time.monotonic() + 60 + n * 0.2
    pending = dict(created)
    while pending and time.monotonic() < deadline:
        for call_id in list(pending):
            status = client.get(f"/v1/calls/{call_id}").json()["status"]
            if status == "in_progress":
                answered[call_id] = time.monotonic() - pending.pop(call_id)
            elif status in ("failed", "busy", "no_answer", "canceled", "completed"):
                failed[call_id] = status
                pending.pop(call_id)
        time.sleep(0.02)
    last_answer = time.monotonic() - start
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda c: client.post(f"/v1/calls/{c}/hangup"), answered))
    latencies = list(answered.values())
    return {
        "n": n, "created_per_s": round(n / created_s, 1),
        "answered": len(answered), "failed": len(failed) + len(pending),
        "answered_per_s": round(len(answered) / last_answer, 1),
        "setup_p50_ms": round(statistics.median(latencies) * 1000) if latencies else None,
        "setup_p99_ms": round(_pct(latencies, 0.99) * 1000) if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="10,50,100")
    args = parser.parse_args()
    sipp = shutil.which("sipp")
    if sipp is None:
        print("sipp is not installed (apt-get install sip-tester)")
        return 1
    batches = [int(x) for x in args.batches.split(",")]
    platform = LocalPlatform(api_port=free_port(), env_file=None, with_media=False).start()
    node = LocalNode(local_settings(sip_port=0, rtp_port_min=40000, rtp_port_max=44999,
                                    capacity=1000, max_concurrent=1000, poll_wait_s=1,
                                    node_id="bench-node"), platform.container.media_gateway).start()
    sipp_port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        peer = subprocess.Popen(
            [sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", str(sipp_port), "-nostdin",
             "-m", str(sum(batches)), "-timeout", "600s", "-max_socket", "2000"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            c = platform.container
            limits = RateLimits(create_call=100_000, sessions=1000, reads=100_000,
                                lists=100_000, writes=100_000)
            app = c.apps.create_app("bench", destination_allow_list=["*"], rate_limits=limits,
                                    calls_per_second=1000,  # the setup rate, not the cap
                                    max_concurrent_calls=10_000)
            _, key = c.apps.create_key(app.app_id, "test")
            with httpx.Client(base_url=platform.api_url, timeout=30,
                              headers={"Authorization": f"Bearer {key}"}) as client:
                client.post("/v1/trunks", json={"name": "sipp", "host": "127.0.0.1",
                                                "port": sipp_port}).raise_for_status()
                number = "+14155550999"
                client.post("/v1/numbers", json={"number": number}).raise_for_status()
                print(f"{'N':>5} {'created/s':>10} {'answered':>9} {'failed':>7} "
                      f"{'answered/s':>11} {'setup p50 ms':>13} {'setup p99 ms':>13}")
                for n in batches:
                    r = run_batch(client, number, n)
                    print(f"{r['n']:>5} {r['created_per_s']:>10} {r['answered']:>9} "
                          f"{r['failed']:>7} {r['answered_per_s']:>11} {r['setup_p50_ms']!s:>13} "
                          f"{r['setup_p99_ms']!s:>13}", flush=True)
                    time.sleep(2)
        finally:
            peer.kill()
            peer.wait()
            node.stop()
            platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
