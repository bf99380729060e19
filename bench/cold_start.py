"""Cold start of each control-plane function module: the time to import `functions.<module>`
and build its handler in a fresh interpreter, minus a bare interpreter start.

    .venv/bin/python bench/cold_start.py [--runs 10] [--lambda-env]

`--lambda-env` sets LAMBDA_TASK_ROOT so Powertools' Tracer is built (and the X-Ray SDK
imported) as in AWS. Prints the median and min per module; target: median <= 300 ms.

Bytecode: every run imports from warm .pyc files, as Lambda does with the layer that
infra/build_layer.py builds (it ships unchecked-hash .pyc files). PYTHONDONTWRITEBYTECODE is
removed from the children's environment: any non-empty value (even "0") stops Python writing
.pyc files, and the modules without one would then be compiled from source on every run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from voicelane.resources import FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]
MODULES = tuple(f.module for f in FUNCTIONS)  # every Lambda function of the control plane
TARGET_MS = 300.0


def run(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of `python -c code`, in ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--lambda-env", action="store_true")
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    args = parser.parse_args()
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1",
           "POWERTOOLS_METRICS_NAMESPACE": "Voicelane"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.lambda_env:
        env["LAMBDA_TASK_ROOT"] = str(ROOT)
    for module in args.modules:  # warm the bytecode caches: Lambda ships .pyc-able code
        run(f"import functions.{module}", env)
    bare_runs = [run("pass", env) for _ in range(args.runs)]
    bare = statistics.median(w for w, _ in bare_runs)
    bare_cpu = statistics.median(c for _, c in bare_runs)
    print(f"bare interpreter: {bare:.0f} ms wall, {bare_cpu:.0f} ms CPU (median of {args.runs}),"
          " subtracted below")
    # CPU (user + system) does not count the time spent waiting for a core, so on a shared,
    # loaded machine it is the steadier figure; the target applies to the wall-time median.
    print(f"{'function module':<22}{'median ms':>10}{'min ms':>9}{'CPU med ms':>12}"
          f"  target {TARGET_MS:.0f} ms")
    for module in args.modules:
        runs = [run(f"import functions.{module}", env) for _ in range(args.runs)]
        times = [w - bare for w, _ in runs]
        median = statistics.median(times)
        cpu = statistics.median(c for _, c in runs) - bare_cpu
        flag = "ok" if median <= TARGET_MS else "OVER"
        print(f"{module:<22}{median:>10.0f}{min(times):>9.0f}{cpu:>12.0f}  {flag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
