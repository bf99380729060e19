"""`voicelane eval SUITE`: run a suite's scenarios as phone calls on the local platform, print
the table, write report.json and report.html, and exit 1 when a threshold fails."""

from __future__ import annotations

import argparse
import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from voicelane_local.evals.record import CallRecord
from voicelane_local.evals.schema import Scenario, ScenarioError, Suite, Thresholds, load_suite
from voicelane_local.evals.scoring import SuiteScore, score_call, score_suite

DEFAULT_SUITE = Path(__file__).parent / "suites" / "default"
# Threshold flags: (flag, Thresholds field, type)
_LIMITS = [("--min-success-rate", "min_success_rate", float), ("--max-p50-ms", "max_p50_ms", float),
           ("--max-p95-ms", "max_p95_ms", float),
           ("--max-barge-in-p95-ms", "max_barge_in_p95_ms", float),
           ("--max-false-interruptions", "max_false_interruptions", int),
           ("--max-missed-interruptions", "max_missed_interruptions", int),
           ("--max-early-replies", "max_early_replies", int), ("--max-wer", "max_wer", float)]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="run phone-path eval scenarios on the local platform",
                       description=__doc__)
    p.add_argument("suite", help="a suite folder, a scenario file, or 'default'")
    p.add_argument("--out", default="eval-output", help="where report.json/html go")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run only this scenario (repeatable)")
    p.add_argument("--fast", action="store_true", help="only the scenarios marked fast")
    p.add_argument("--concurrency", type=int, default=1,
                   help="calls at once (more is quicker; latencies then include the load)")
    p.add_argument("--check", action="store_true", help="validate the files and stop")
    for flag, name, kind in _LIMITS:
        p.add_argument(flag, dest=name, type=kind, default=None,
                       help=f"threshold (overrides suite.yaml's {name})")
    p.set_defaults(fn=cmd_eval)


def select(suite: Suite, only: list[str], fast: bool) -> list[Scenario]:
    unknown = sorted(set(only) - {s.name for s in suite.scenarios})
    if unknown:
        raise ScenarioError(f"no scenario named {', '.join(unknown)} in {suite.root}")
    return [s for s in suite.scenarios
            if (not only or s.name in only) and (not fast or s.fast)]


def warm_up(suite: Suite, scenarios: list[Scenario]) -> None:
    """Load each agent's engines once before the first call (the node shares the models)."""
    from voicelane.domain.agent import AgentSpec
    from voicelane_media.agent.engines import build_engines

    seen: set[str] = set()
    for scenario in scenarios:
        spec = AgentSpec.model_validate(suite.agents[scenario.name])
        key = spec.engines.model_dump_json() if spec.engines else "default"
        if key not in seen:
            seen.add(key)
            build_engines(spec)


def run_scenarios(platform: Any, suite: Suite, scenarios: list[Scenario],
                  concurrency: int = 1, rtp_base: int | None = None) -> dict[str, CallRecord]:
    """Each scenario's call on ``platform`` (its media node must be running)."""
    from voicelane_local.evals.runner import MockTools

    base = rtp_base if rtp_base is not None else random.randrange(40000, 50000, 100)
    tools = MockTools()
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            futures = {s.name: pool.submit(_run_one, platform, s, suite.agents[s.name], tools,
                                           (base + 100 * i, base + 100 * i + 99))
                       for i, s in enumerate(scenarios)}
            return {name: f.result() for name, f in futures.items()}
    finally:
        tools.stop()


def _run_one(platform: Any, scenario: Scenario, agent: dict[str, Any], tools: Any,
             ports: tuple[int, int]) -> CallRecord:
    from voicelane_local.evals.runner import run_call

    record = run_call(platform, scenario, agent, tools, ports)
    outcome = record.error or record.call.get("end_reason")
    print(f"  {scenario.name}: call over in {record.seconds:.0f} s ({outcome})", flush=True)
    return record


def evaluate(suite: Suite, records: dict[str, CallRecord], scenarios: list[Scenario],
             thresholds: Thresholds) -> SuiteScore:
    return score_suite(suite.name, [score_call(s, records[s.name]) for s in scenarios],
                       thresholds)


def run_suite(platform: Any, suite: Suite, scenarios: list[Scenario], thresholds: Thresholds,
              out: Path, concurrency: int = 1) -> SuiteScore:
    """Run, score, write the reports and print the table; the platform's node is running."""
    from voicelane_local.evals import report

    print("loading the agents' engines...", flush=True)
    warm_up(suite, scenarios)
    records = run_scenarios(platform, suite, scenarios, concurrency)
    scored = evaluate(suite, records, scenarios, thresholds)
    json_path, html_path = report.write(scored, records, out)
    print(report.table(scored))
    print(f"wrote {json_path} and {html_path}")
    if not scored.passed:
        print("thresholds failed: " + "; ".join(scored.failures))
    return scored


def cmd_eval(args: argparse.Namespace) -> int:
    from voicelane_local.media_node import start_local_node
    from voicelane_local.platform import LocalPlatform

    path = DEFAULT_SUITE if args.suite == "default" else Path(args.suite)
    suite = load_suite(path)  # ScenarioError: the CLI prints each problem, exit 1
    scenarios = select(suite, args.only, args.fast)
    if not scenarios:
        raise ScenarioError("no scenario selected")
    overrides = {name: getattr(args, name) for _, name, _ in _LIMITS
                 if getattr(args, name) is not None}
    thresholds = suite.thresholds.model_copy(update=overrides)
    print(f"{suite.name}: {len(scenarios)} scenario(s) valid")
    if args.check:
        return 0
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("VOICELANE_CALLS_PER_SECOND", "1000")
    # moto in its own process: off this process's GIL, which the calls' audio threads need
    os.environ.setdefault("VOICELANE_MOTO_PROCESS", "1")
    platform = LocalPlatform(api_port=0, env_file=None, with_media=False).start()
    try:
        base = random.randrange(30000, 39000, 200)
        platform.extras.append(start_local_node(
            platform, sip_port=0, rtp_port_min=base, rtp_port_max=base + 199,
            node_id=f"eval-{random.randrange(16**6):06x}"))
        scored = run_suite(platform, suite, scenarios, thresholds, Path(args.out),
                           args.concurrency)
    finally:
        platform.stop()
    return 0 if scored.passed else 1
