"""The IVR flow driven over one live WebSocket (/v1/events/stream): events arrive on it and the
app's commands go back on the same connection (acks or the REST API's error codes). Another
app's connection neither sees the call's events nor can command or subscribe to the call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from voicelane_local.media_node import LocalNode
from voicelane_local.platform import LocalPlatform
from websockets.sync.client import ClientConnection, connect

from tests.interop.sipp_helpers import SCENARIOS, Api, Sipp, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


def open_stream(platform: LocalPlatform, key: str) -> ClientConnection:
    url = platform.api_url.replace("http://", "ws://") + "/v1/events/stream?types=call.*"
    return connect(url, additional_headers={"Authorization": f"Bearer {key}"}, open_timeout=5)


def request(ws: ClientConnection, message: dict[str, Any], inbox: list[dict[str, Any]]
            ) -> dict[str, Any]:
    """Send a message; its reply (events that arrive first go to `inbox`)."""
    ws.send(json.dumps(message))
    while True:
        got = json.loads(ws.recv(timeout=10))
        if got.get("type") in ("ack", "error", "subscribed", "unsubscribed"):
            return dict(got)
        inbox.append(got)


@pytest.fixture
def other_key(local_platform: LocalPlatform) -> Iterator[str]:
    container = local_platform.container
    app = container.apps.create_app("other", destination_allow_list=["*"])
    _, key = container.apps.create_key(app.app_id, "test")
    yield key


def test_ivr_over_one_websocket_and_tenancy(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp],
        local_platform: LocalPlatform, other_key: str) -> None:
    key = str(api.client.headers["Authorization"]).removeprefix("Bearer ")
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    with open_stream(local_platform, key) as ws, open_stream(local_platform, other_key) as spy:
        inbox: list[dict[str, Any]] = []
        assert request(ws, {"type": "subscribe", "call_ids": "*"}, inbox)["type"] == "subscribed"
        caller = sipp("-sf", str(SCENARIOS / "uac_ivr.xml"), "-s", number, "-mi", "127.0.0.1",
                      target=f"127.0.0.1:{media_node.sip_port}")
        seen: list[str] = []
        call_id = ""
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            event = inbox.pop(0) if inbox else json.loads(ws.recv(timeout=10))
            if call_id and event["data"]["id"] != call_id:
                continue
            if event["type"] == "call.initiated" and event["data"]["to"] == number:
                call_id = event["data"]["id"]
                early = request(ws, {"type": "command", "call_id": call_id, "action": "gather"},
                                inbox)
                assert (early["type"], early["code"], early["status"]) == \
                    ("error", "action_not_allowed", 409)
                bad = request(ws, {"type": "command", "call_id": call_id, "action": "speak"},
                              inbox)
                assert (bad["code"], bad["status"]) == ("validation_error", 422)
                ack = request(ws, {"type": "command", "call_id": call_id, "action": "answer",
                                   "command_id": "ws-answer"}, inbox)
                assert ack == {"type": "ack", "call_id": call_id, "action": "answer",
                               "command_id": "ws-answer", "status": "accepted"}
                # another app cannot command or follow this call
                other = request(spy, {"type": "command", "call_id": call_id,
                                      "action": "hangup"}, [])
                assert (other["code"], other["status"]) == ("call_not_found", 404)
                other = request(spy, {"type": "subscribe", "call_ids": [call_id]}, [])
                assert other["code"] == "call_not_found"
            if not call_id:
                continue
            seen.append(event["type"])
            if event["type"] == "call.answered":
                ack = request(ws, {"type": "command", "call_id": call_id, "action": "gather",
                                   "max_digits": 1, "timeout_s": 6,
                                   "prompt_text": "Press one for sales."}, inbox)
                assert ack["type"] == "ack", ack
            elif event["type"] == "call.gather.ended":
                assert event["data"]["payload"]["digits"] == "1"
                request(ws, {"type": "command", "call_id": call_id, "action": "speak",
                             "text": "Goodbye."}, inbox)
            elif event["type"] == "call.speak.ended":
                ack = request(ws, {"type": "command", "call_id": call_id, "action": "hangup"},
                              inbox)
                assert ack["type"] == "ack", ack
            elif event["type"] == "call.completed":
                break
        assert caller.wait() == 0, caller.output()
        assert seen[0] == "call.initiated" and seen[-1] == "call.completed", seen
        assert {"call.answered", "call.gather.ended", "call.speak.ended"} <= set(seen)
        assert api.call(call_id)["end_reason"] == "hangup_by_api"
        # the other app's stream got nothing of this call
        leaked: list[Any] = []
        try:
            while True:
                leaked.append(json.loads(spy.recv(timeout=0.5)))
        except TimeoutError:
            pass
        assert [m for m in leaked if m.get("data", {}).get("id") == call_id] == []


def test_commands_on_the_local_stream_count_against_the_keys_write_limit(
        local_platform: LocalPlatform) -> None:
    """The local /v1/events/stream counts each command as a REST `writes` request of the key
    that connected (429 with Retry-After in the reply once over the limit)."""
    from voicelane.domain.models import RateLimits

    container = local_platform.container
    app = container.apps.create_app("ws-limited", rate_limits=RateLimits(writes=1))
    _, key = container.apps.create_key(app.app_id, "test")
    inbox: list[dict[str, Any]] = []
    with open_stream(local_platform, key) as ws:
        message = {"type": "command", "call_id": "call_01nosuchcall0000000000000",
                   "action": "hangup"}
        assert request(ws, message, inbox)["code"] == "call_not_found"
        limited = request(ws, {**message, "command_id": "second"}, inbox)
        assert (limited["code"], limited["status"], limited["command_id"]) == (
            "rate_limited", 429, "second")
        assert limited["retry_after_s"] >= 1
