"""The LiveCalls metric line and scale-in protection through a loopback ECS agent (real HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from voicelane_media.node.fleet import RENEW_AFTER_S, FleetSignals, live_calls_line

from tests.voicelane_media.node.ecs_agent import EcsAgent


@pytest.fixture
def ecs_agent() -> Iterator[EcsAgent]:
    agent = EcsAgent()
    yield agent
    agent.close()


def test_the_metric_line_is_embedded_metric_format() -> None:
    record = json.loads(live_calls_line("voicelane-prod-media", 7, now_ms=1795285733000))
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive == {"Namespace": "Voicelane", "Dimensions": [["service"]],
                         "Metrics": [{"Name": "LiveCalls", "Unit": "Count"}]}
    assert record["_aws"]["Timestamp"] == 1795285733000
    assert record["service"] == "voicelane-prod-media" and record["LiveCalls"] == 7


async def test_protected_while_calls_are_live_renewed_and_released(ecs_agent: EcsAgent) -> None:
    lines: list[str] = []
    now = [0.0]
    fleet = FleetSignals("svc", ecs_agent.uri, emit=lines.append, clock=lambda: now[0])
    for live in (0, 2, 3, 1):
        await fleet.update(live)
    assert ecs_agent.states() == [True]  # asked once when the first call came
    assert ecs_agent.bodies[0] == {"ProtectionEnabled": True, "ExpiresInMinutes": 60}
    now[0] += RENEW_AFTER_S
    await fleet.update(1)
    assert ecs_agent.states() == [True, True]  # renewed before it expires
    await fleet.update(0)
    assert ecs_agent.states() == [True, True, False]
    assert [json.loads(line)["LiveCalls"] for line in lines] == [0, 2, 3, 1, 1, 0]


async def test_a_failed_request_is_made_again_on_the_next_heartbeat(ecs_agent: EcsAgent) -> None:
    fleet = FleetSignals("", ecs_agent.uri, emit=lambda line: None)
    ecs_agent.fail = True
    await fleet.update(1)
    assert not fleet.protected and ecs_agent.states() == []
    ecs_agent.fail = False
    await fleet.update(1)
    assert fleet.protected and ecs_agent.states() == [True]


async def test_off_ecs_nothing_is_asked_and_without_a_service_nothing_is_written() -> None:
    lines: list[str] = []
    fleet = FleetSignals("", "", emit=lines.append)
    await fleet.update(5)
    assert lines == [] and not fleet.protected
