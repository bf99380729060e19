"""Phone-path harness fixtures: one media node for the package (every module's calls are over
by the time the next module's start; each call has an app, a number and a phone of its own),
the engine router, and every scenario run once, concurrently, before the tests look at their
outcomes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform
from voicelane_media.calls import agent_runner

from tests.phone.phone_harness import (
    EngineRouter,
    Outcome,
    Scenario,
    ToolServer,
    latency_lines,
    run_scenario,
)
from tests.phone.scenarios import build_scenarios

_REPORT: list[str] = []


@pytest.fixture(scope="package")
def phone_node(local_platform: LocalPlatform) -> Iterator[LocalNode]:
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(sip_port=0, internal_http_port=0, rtp_port_min=base,
                              rtp_port_max=base + 199,
                              node_id=f"phone-{random.randrange(16**6):06x}", poll_wait_s=1,
                              heartbeat_s=2, ring_timeout_s=10)
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def outcomes(local_platform: LocalPlatform, phone_node: LocalNode) -> Iterator[dict[str, Any]]:
    """Runs every scenario (concurrently) and maps scenario name -> Outcome or the exception."""
    router = EngineRouter()
    agent_runner.set_engine_factory(router)
    tool = ToolServer({"reference": "AC-77", "time": "nine a.m."})
    scenarios: list[Scenario] = build_scenarios(tool.url)
    router(_warm_spec())  # load the local models once, before any call
    results: dict[str, Any] = {}
    try:
        with ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
            futures = {s.name: pool.submit(run_scenario, local_platform, s, router, tool)
                       for s in scenarios}
            for name, future in futures.items():
                try:
                    results[name] = future.result(timeout=180)
                except Exception as exc:  # each test reports its own scenario's failure
                    results[name] = exc
        for name, result in results.items():
            if isinstance(result, Outcome):
                _REPORT.append(f"{name}:")
                _REPORT.extend(latency_lines(result))
        yield results
    finally:
        agent_runner.set_engine_factory(None)
        tool.stop()


def _warm_spec() -> Any:
    from voicelane.domain.agent import AgentSpec

    return AgentSpec(name="warm-up")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _REPORT:
        terminalreporter.section("phone-path harness: latency")
        for line in _REPORT:
            terminalreporter.write_line(line)
