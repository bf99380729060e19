"""Transfers pass the destination allow-list (toll fraud) on live calls with sipp as the peer.

The app here has no allow-list: the default, its own number's country (+1). A transfer to
+882 (an international network, a classic fraud destination) is refused on every path: the
agent's transfer tool (the tool answers an error; no REFER reaches the caller, no INVITE the
trunk), the public API's transfer command (403), and the node's internal command endpoint
(403), which the node checks itself rather than trusting the control plane.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode
from voicelane_local.platform import LocalPlatform

from tests.interop.sipp_helpers import SCENARIOS, Api, Sipp, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]

FRAUD_TARGET = "+88212345678"
TRANSFER_SCRIPT = {
    "start": "main",
    "states": {"main": {
        "intents": [{"name": "operator", "regex": "1", "reply": "Connecting you.",
                     "tool": {"name": "transfer", "arguments": {"target": FRAUD_TARGET}},
                     "after_tool": "Sorry, I cannot put you through."}],
        "fallback": "Press one for the operator.",
    }},
}


@pytest.fixture
def strict_api(local_platform: LocalPlatform) -> Iterator[Api]:
    """An app with the default destination allow-list (no `*`), through the real API."""
    container = local_platform.container
    limits = RateLimits(create_call=1000, sessions=1000, reads=100_000, lists=100_000,
                        writes=100_000)
    app = container.apps.create_app("strict", allow_private_webhooks=True, rate_limits=limits)
    _, key = container.apps.create_key(app.app_id, "test")
    with httpx.Client(base_url=local_platform.api_url, timeout=15,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        yield Api(client, app.app_id)


@pytest.fixture
def trunk_socket() -> Iterator[socket.socket]:
    """A UDP socket on loopback standing in for the app's carrier: a bridged transfer's INVITE
    would arrive here."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        yield s


def _received(s: socket.socket) -> list[bytes]:
    got: list[bytes] = []
    while True:
        try:
            got.append(s.recv(65535))
        except BlockingIOError:
            return got


def test_the_agents_transfer_tool_answers_an_error_and_dials_nothing(
        strict_api: Api, media_node: LocalNode, sipp: Callable[..., Sipp],
        trunk_socket: socket.socket) -> None:
    api = strict_api
    api.ok(api.post("/v1/trunks", {"name": "carrier", "host": "127.0.0.1",
                                   "port": trunk_socket.getsockname()[1]}))
    agent = api.ok(api.post("/v1/agents", {
        "name": "desk", "greeting": "Hello.", "script": TRANSFER_SCRIPT,
        "tools": [{"name": "transfer", "type": "transfer"}]}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number, "agent_id": agent["id"]}))
    caller = sipp("-sf", str(SCENARIOS / "uac_keys_for_transfer.xml"), "-s", number,
                  "-mi", "127.0.0.1", target=f"127.0.0.1:{media_node.sip_port}")
    call_id = api.wait_event_for_number(number)

    tool = api.wait_event(call_id, "call.agent.tool_called", timeout_s=20)["details"]
    assert tool["name"] == "transfer" and tool["arguments"] == {"target": FRAUD_TARGET}, tool
    assert tool["result"]["error"] == "destination_not_allowed", tool
    # No REFER reached the caller (sipp fails on an unexpected request), the call went on
    # until the caller hung up, and no INVITE went to the carrier.
    assert caller.wait(timeout_s=30) == 0, caller.output()
    done = api.wait_status(call_id, {"completed"})
    assert done["end_reason"] == "hangup_by_caller", done
    types = api.event_types(call_id)
    assert not [t for t in types if t.startswith("call.transfer") or t == "call.bridged"], types
    assert _received(trunk_socket) == []
    ended = api.wait_event(call_id, "call.agent.ended")["details"]
    assert ended.get("transferred_to") is None and ended["reason"] == "caller_hangup", ended


def test_transfer_commands_to_a_disallowed_number_are_refused_by_the_api_and_the_node(
        strict_api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    api = strict_api
    peer = sipp("-sn", "uas")  # the built-in UAS: a REFER would be unexpected and fail it
    api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": peer.port}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    call_id = api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550123"}))["id"]
    api.wait_status(call_id, {"in_progress"})

    for target in (FRAUD_TARGET, f"sip:{FRAUD_TARGET}@127.0.0.1:{peer.port}",
                   f"sip:00{FRAUD_TARGET[1:]}@127.0.0.1"):
        resp = api.action(call_id, "transfer", {"to": target})
        assert resp.status_code == 403, (target, resp.text)
        assert resp.json()["error"]["code"] == "destination_not_allowed", resp.text
    # The node checks too: a command that did not come through the public API is refused.
    token = media_node.gateway.settings.internal_token
    resp = httpx.post(f"{media_node.internal_url}/internal/calls/{call_id}/actions/transfer",
                      json={"to": FRAUD_TARGET}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "destination_not_allowed"

    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    api.wait_status(call_id, {"completed"})
    assert peer.wait() == 0, peer.output()
    types = api.event_types(call_id)
    assert not [t for t in types if t.startswith("call.transfer") or t == "call.bridged"], types
