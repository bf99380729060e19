"""Inbound INVITEs reach an app's numbers only from its trunks: a node that trusts no network
refuses a loopback caller with 403 (and writes no call) until the app lists loopback as its
carrier's source, after which sipp's call is taken."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform

from tests.interop.sipp_helpers import Api, Sipp, final_status, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


def inbound_calls(api: Api, number: str) -> list[dict[str, object]]:
    calls = api.ok(api.get("/v1/calls", params={"limit": 20}))["data"]
    return [c for c in calls if c["to"] == number and c["direction"] == "inbound"]


def test_only_the_apps_trunks_may_call_its_numbers(
        api: Api, local_platform: LocalPlatform, sipp: Callable[..., Sipp]) -> None:
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(sip_port=0, internal_http_port=0, rtp_port_min=base,
                              rtp_port_max=base + 199, node_id=f"acl-{random.randrange(16**6):06x}",
                              poll_wait_s=1, heartbeat_s=2, inbound_answer_timeout_s=4,
                              sip_trusted_sources="")
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        number = new_number()
        api.ok(api.post("/v1/numbers", {"number": number}))
        assert final_status(node.sip_port, "INVITE", number) == 403
        assert final_status(node.sip_port, "INVITE", "+19995550000") == 404  # unknown numbers as before
        assert inbound_calls(api, number) == []

        bad = api.post("/v1/trunks", {"name": "carrier", "host": "192.0.2.10",
                                      "inbound_addresses": ["10.0.0.0/33"]})
        assert bad.status_code == 422, bad.text
        assert "inbound_addresses" in bad.text
        trunk = api.ok(api.post("/v1/trunks", {"name": "carrier", "host": "192.0.2.10",
                                               "inbound_addresses": ["127.0.0.1"]}))
        assert trunk["inbound_addresses"] == ["127.0.0.1/32"]

        caller = sipp("-sn", "uac", "-s", number, "-d", "1000",
                      target=f"127.0.0.1:{node.sip_port}")
        deadline = time.monotonic() + 10
        while not inbound_calls(api, number) and time.monotonic() < deadline:
            time.sleep(0.1)
        (call,) = inbound_calls(api, number)
        resp = api.action(str(call["id"]), "answer", {"command_id": "answer-acl"})
        assert resp.status_code in (200, 202), resp.text
        assert caller.wait() == 0, caller.output()
    finally:
        node.stop()
