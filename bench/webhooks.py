"""Webhook benchmarks on the local stack (moto in its own process, a receiver on loopback in
its own process, so the figures are the dispatcher's and not the receiver's).

1. Deliveries per second of ONE dispatcher instance (one process, its thread pool): N delivery
   records are created, and the webhook-dispatcher function's handler is invoked with SQS
   events of 100 messages each as the router sends them (each carrying its new delivery), as
   Lambda's SQS event source would hand them over (deleting messages is Lambda's work). The
   local runner (the other functions' stand-in) is paused meanwhile: in AWS they run in
   their own instances, not in the dispatcher's.
2. Event-to-delivery latency (event created_at -> receiver) through the real runner jobs
   (stream -> router -> queue -> dispatcher), p50/p99.

    .venv/bin/python bench/webhooks.py [--deliveries 3000] [--calls 200] [--keep-runner]

`--keep-runner` leaves the local runner going during the throughput phase (its stream reader
then competes with the dispatcher for the same two cores, as on a developer's machine).
"""

from __future__ import annotations

import argparse
import http.server
import json
import multiprocessing
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("VOICELANE_MOTO_PROCESS", "1")
os.environ.setdefault("VOICELANE_WEBHOOK_DISPATCH_CONCURRENCY", "100")  # a batch's POSTs at once

from voicelane.contracts.calls import CreateCallRequest
from voicelane.domain.call import CallStatus
from voicelane.domain.webhooks import Delivery, DeliveryStatus, delivery_id_for, delivery_message
from voicelane.services.clock import now_iso
from voicelane.services.webhooks import ensure_call_endpoint
from voicelane_local.moto_server import free_port
from voicelane_local.platform import LocalPlatform
from voicelane_local.runner import LocalRunner
from voicelane_local.webhook_jobs import LocalLambdaContext, load_handler


def _serve_receiver(port: int) -> None:
    """A 200-answering receiver; GET returns [[created_at, received_at], ...] of each POST."""
    seen: list[tuple[str, float]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            seen.append((json.loads(body).get("created_at", ""), time.time()))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            data = json.dumps(seen).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    http.server.ThreadingHTTPServer.request_queue_size = 512  # a batch connects at once
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


class Receiver:
    """The receiver process: `url` to POST to, `received()` what it got."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve_receiver, args=(self.port,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def received(self) -> list[tuple[str, float]]:
        import httpx

        return [(c, at) for c, at in httpx.get(f"http://127.0.0.1:{self.port}/", timeout=30).json()]

    def __enter__(self) -> Receiver:
        import socket

        self.process.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the receiver did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(5)


def throughput(p: LocalPlatform, rx: Receiver, n: int) -> float:
    c = p.container
    app = c.apps.create_app("bench", allow_private_webhooks=True, max_concurrent_calls=100_000)
    ensure_call_endpoint(c.webhook_repo, app.app_id)
    body = '{"id":"evt_bench","type":"call.completed","data":{}}'
    deliveries = [
        Delivery(delivery_id=delivery_id_for(f"evt_{i}", "call"), app_id=app.app_id,
                 endpoint_id="call", event_id=f"evt_{i}", event_type="call.completed",
                 url=rx.url, body=body, created_at=now_iso())
        for i in range(n)
    ]
    c.webhook_repo.save_deliveries(deliveries)
    handler = load_handler("webhook_dispatcher")
    events = [{"Records": [
        {"messageId": f"m{start + i}", "receiptHandle": "rh", "eventSource": "aws:sqs",
         "body": delivery_message(d.delivery_id, d),
         "attributes": {"ApproximateReceiveCount": "1"}}
        for i, d in enumerate(deliveries[start : start + 100])]} for start in range(0, n, 100)]
    started = time.perf_counter()
    for event in events:
        failures = handler(event, LocalLambdaContext("webhook-dispatcher"))["batchItemFailures"]
        if failures:
            print(f"  {len(failures)} of a batch not delivered")
    elapsed = time.perf_counter() - started
    delivered = sum(1 for d in c.webhook_repo.get_deliveries([d.delivery_id for d in deliveries])
                    .values() if d.status == DeliveryStatus.DELIVERED)
    if delivered != n:
        print(f"  only {delivered} of {n} records say delivered")
    return n / elapsed


def latency(p: LocalPlatform, rx: Receiver, calls: int) -> tuple[float, float]:
    c = p.container
    app = c.apps.create_app("lat", allow_private_webhooks=True, max_concurrent_calls=100_000)

    def one_lifecycle(i: int) -> None:
        req = CreateCallRequest.model_validate({"from": f"a{i}", "to": "b", "from_channel": "webrtc",
                                                "to_channel": "webrtc", "webhook_url": rx.url})
        call, _ = c.calls.create(app, req)
        c.lifecycle.transition(call.call_id, CallStatus.CANCELED)

    def wait_for(count: int) -> None:
        deadline = time.time() + 120
        while len(rx.received()) < count and time.time() < deadline:
            time.sleep(0.2)

    # First let the router read past the stream records a throughput run left behind.
    warm = len(rx.received())
    one_lifecycle(-1)
    wait_for(warm + 2)
    seen = len(rx.received())
    for i in range(calls):
        one_lifecycle(i)
        time.sleep(0.02)  # a steady trickle, not a burst: this measures latency, not backlog
    wait_for(seen + 2 * calls)
    lat = []
    for created_at, at in rx.received()[seen:]:
        created = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        lat.append((at - created.timestamp()) * 1000)
    lat.sort()
    return statistics.median(lat), lat[max(0, int(len(lat) * 0.99) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deliveries", type=int, default=3000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--keep-runner", action="store_true")
    args = ap.parse_args()
    p = LocalPlatform(api_port=free_port(), env_file=None, with_media=False).start()
    try:
        with Receiver() as rx:
            assert p.runner is not None
            if not args.keep_runner:
                p.runner.stop()
            rate = throughput(p, rx, args.deliveries)
            if not args.keep_runner:  # the same jobs, so the stream is read on from where it was
                p.runner = LocalRunner(p.container, jobs=p.runner.jobs).start()
            print(f"dispatcher: {rate:.0f} deliveries/s per instance "
                  f"({args.deliveries} deliveries, batches of 100, "
                  f"{p.container.settings.webhook_dispatch_concurrency} concurrent POSTs, "
                  f"local runner {'running' if args.keep_runner else 'paused'})")
            p50, p99 = latency(p, rx, args.calls)
            print(f"event -> delivery latency: p50 {p50:.0f} ms, p99 {p99:.0f} ms "
                  f"({2 * args.calls} events through stream, router, queue, dispatcher)")
    finally:
        p.stop()


if __name__ == "__main__":
    main()
