"""A media task on ECS: while sipp's call is live the node holds scale-in protection through
the ECS agent endpoint, and lets it go when the call ends."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import pytest
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform

from tests.interop.sipp_helpers import Api, Sipp, new_number, requires_sipp
from tests.voicelane_media.node.ecs_agent import EcsAgent

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


@pytest.fixture
def ecs_agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[EcsAgent]:
    agent = EcsAgent()
    monkeypatch.setenv("ECS_AGENT_URI", agent.uri)  # what ECS gives every Fargate task
    yield agent
    agent.close()


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_protected_from_scale_in_while_a_call_is_live(
        api: Api, local_platform: LocalPlatform, sipp: Callable[..., Sipp],
        ecs_agent: EcsAgent) -> None:
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(sip_port=0, internal_http_port=0, rtp_port_min=base,
                              rtp_port_max=base + 199, heartbeat_s=0.2, poll_wait_s=1,
                              node_id=f"fleet-{random.randrange(16**6):06x}")
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        number = new_number()
        api.ok(api.post("/v1/numbers", {"number": number}))
        time.sleep(0.6)  # idle heartbeats ask for nothing
        assert ecs_agent.states() == []
        caller = sipp("-sn", "uac", "-s", number, "-d", "2000",
                      target=f"127.0.0.1:{node.sip_port}")
        assert wait_until(lambda: ecs_agent.states() == [True]), ecs_agent.states()
        calls = api.ok(api.get("/v1/calls", params={"limit": 20}))["data"]
        (call,) = [c for c in calls if c["to"] == number]
        resp = api.action(str(call["id"]), "answer", {"command_id": "answer-fleet"})
        assert resp.status_code in (200, 202), resp.text
        assert caller.wait() == 0, caller.output()
        assert wait_until(lambda: ecs_agent.states() == [True, False]), ecs_agent.states()
    finally:
        node.stop()
