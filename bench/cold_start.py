"""Cold start of each control-plane function module: the time to import `functions.<module>`
and build its handler in a fresh interpreter, minus a bare interpreter start.

    .venv/bin/python bench/cold_start.py [--runs 10] [--lambda-env]

`--lambda-env` sets LAMBDA_TASK_ROOT so Powertools' Tracer is built (and the X-Ray SDK
imported) as in AWS. Prints the median and min per module; target: median <= 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("api_calls", "api_agents", "api_numbers", "api_sessions", "api_health",
           "create_call", "dispatch_scheduled")
TARGET_MS = 300.0


def run(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--lambda-env", action="store_true")
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    args = parser.parse_args()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0", "AWS_DEFAULT_REGION": "us-east-1",
           "POWERTOOLS_METRICS_NAMESPACE": "Voicelane"}
    if args.lambda_env:
        env["LAMBDA_TASK_ROOT"] = str(ROOT)
    for module in args.modules:  # warm the bytecode caches: Lambda ships .pyc-able code
        run(f"import functions.{module}", env)
    bare = statistics.median(run("pass", env) for _ in range(args.runs))
    print(f"bare interpreter: {bare:.0f} ms (median of {args.runs}), subtracted below")
    print(f"{'function module':<22}{'median ms':>10}{'min ms':>9}  target {TARGET_MS:.0f} ms")
    worst = 0.0
    for module in args.modules:
        times = [run(f"import functions.{module}", env) - bare for _ in range(args.runs)]
        median = statistics.median(times)
        worst = max(worst, median)
        flag = "ok" if median <= TARGET_MS else "OVER"
        print(f"{module:<22}{median:>10.0f}{min(times):>9.0f}  {flag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
