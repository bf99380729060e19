"""Create-call latency in-process on moto: CallService.create (validation, number and agent
checks, the one TransactWriteItems with its event, the cap and idempotency record, SQS send)
against a moto server on loopback.

    .venv/bin/python bench/create_call.py [--calls 300]

Prints p50, p90, p99 and max in milliseconds. Moto's server is the floor here, not DynamoDB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from voicelane.adapters import aws
from voicelane.container import Container
from voicelane.contracts.calls import CreateCallRequest
from voicelane.settings import Settings
from voicelane_local.bootstrap import create_resources
from voicelane_local.moto_server import LocalAws


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--idempotency", action="store_true", help="send an Idempotency-Key")
    args = parser.parse_args()
    local = LocalAws().start()
    try:
        os.environ["VOICELANE_AWS_ENDPOINT_URL"] = local.endpoint
        aws.reset_clients()
        settings = Settings(aws_endpoint_url=local.endpoint, local=True, stage="bench")
        create_resources(settings)
        c = Container(settings)
        app = c.apps.create_app("bench", max_concurrent_calls=100_000)
        c.numbers.create(app, "+14155550100", None)
        req = CreateCallRequest.model_validate(
            {"from": "+14155550100", "to": "+14155550199", "agent": {"name": "bench"},
             "metadata": {"run": "bench"}}
        )
        for i in range(20):  # warm clients, connections and moto
            c.calls.create(app, req, f"warm-{i}" if args.idempotency else None)
        samples = []
        for i in range(args.calls):
            started = time.perf_counter()
            c.calls.create(app, req, f"bench-{i}" if args.idempotency else None)
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        local.stop()
    print(f"create-call in-process on moto, {args.calls} calls"
          f"{' with Idempotency-Key' if args.idempotency else ''}:")
    print(f"  p50 {percentile(samples, 50):.1f} ms  p90 {percentile(samples, 90):.1f} ms  "
          f"p99 {percentile(samples, 99):.1f} ms  max {max(samples):.1f} ms  "
          f"mean {statistics.fmean(samples):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
