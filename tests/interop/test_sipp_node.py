"""The node as a whole: TCP signalling, busy outcome, claims that survive SQS redelivery,
registry heartbeats and the SIGTERM drain."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from voicelane import resources
from voicelane.adapters import aws
from voicelane.adapters.queues import queue_url
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform

from tests.interop.sipp_helpers import SCENARIOS, Api, Sipp, final_status, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


def _call(api: Api, peer_port: int, transport: str = "udp") -> str:
    api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": peer_port,
                                   "transport": transport}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    return str(api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550177"}))["id"])


def test_outbound_call_over_tcp(api: Api, media_node: LocalNode,
                                sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sn", "uas", "-t", "t1")
    call_id = _call(api, peer.port, "tcp")
    api.wait_status(call_id, {"in_progress"})
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    api.wait_status(call_id, {"completed"})
    assert peer.wait() == 0, peer.output()


def test_busy_callee_ends_the_call_busy_with_486(api: Api, media_node: LocalNode,
                                                 sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sf", str(SCENARIOS / "uas_busy.xml"))
    call_id = _call(api, peer.port)
    busy = api.wait_status(call_id, {"busy"})
    assert busy["sip_cause"] == 486 and busy["end_reason"] == "busy"
    assert api.event_types(call_id) == ["call.queued", "call.initiated", "call.ringing", "call.busy"]


def test_sqs_redelivery_never_dials_twice(api: Api, media_node: LocalNode,
                                          local_platform: LocalPlatform,
                                          sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sn", "uas")  # -m 1: a second INVITE would make it fail
    call_id = _call(api, peer.port)
    settings = local_platform.container.settings
    url = queue_url(settings, resources.CALL_REQUESTS_QUEUE, settings.call_requests_queue_url)
    for _ in range(2):  # the same request delivered again, as SQS may
        aws.client("sqs", settings).send_message(QueueUrl=url,
                                                 MessageBody=json.dumps({"call_id": call_id}))
    api.wait_status(call_id, {"in_progress"})
    time.sleep(1.5)
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    api.wait_status(call_id, {"completed"})
    assert api.event_types(call_id).count("call.initiated") == 1
    assert peer.wait() == 0, peer.output()


def test_node_registers_heartbeats_and_drains_on_stop(
        api: Api, local_platform: LocalPlatform, sipp: Callable[..., Sipp]) -> None:
    container = local_platform.container
    settings = local_settings(sip_port=0, internal_http_port=0, rtp_port_min=39400,
                              rtp_port_max=39599, node_id="drain-node", heartbeat_s=0.5,
                              poll_wait_s=1)
    node = LocalNode(settings, container.media_gateway).start()
    try:
        record = container.node_repo.get("drain-node")
        assert record is not None and record.internal_url == node.internal_url
        first = record.heartbeat_at
        time.sleep(1.2)
        assert container.node_repo.get("drain-node").heartbeat_at > first  # type: ignore[union-attr]

        number = new_number()
        api.ok(api.post("/v1/numbers", {"number": number}))
        caller = sipp("-sn", "uac", "-s", number, "-d", "3000",
                      target=f"127.0.0.1:{node.sip_port}")
        call_id = api.wait_event_for_number(number)
        assert api.action(call_id, "answer").status_code in (200, 202)
        api.wait_status(call_id, {"in_progress"})

        assert node.node is not None
        drained = node.loop.call_soon_threadsafe(node.node.request_stop)
        del drained
        time.sleep(0.3)
        assert _options_status(node.sip_port) == 200  # still serving signalling
        assert _invite_status(node.sip_port, number) == 503  # but no new calls
        assert caller.wait() == 0, caller.output()  # the live call ran to its end
        assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_caller"
        deadline = time.monotonic() + 10
        while container.node_repo.get("drain-node") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert container.node_repo.get("drain-node") is None  # deregistered after the drain
    finally:
        node.stop()


def _options_status(port: int) -> int:
    return final_status(port, "OPTIONS", "ping")


def _invite_status(port: int, number: str) -> int:
    return final_status(port, "INVITE", number)


def test_max_duration_ends_the_call(api: Api, media_node: LocalNode,
                                    local_platform: LocalPlatform,
                                    sipp: Callable[..., Sipp]) -> None:
    """The API's floor is 60 s; a stored call with a 2 s limit shows the node enforces it."""
    from voicelane.adapters.queues import SqsCallQueue
    from voicelane.domain.models import Call
    from voicelane.ports import CallCreation
    from voicelane.services.lifecycle import make_event

    container = local_platform.container
    peer = sipp("-sn", "uas")
    api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": peer.port}))
    call_id = f"call_maxdur{time.time_ns()}"
    call = Call.model_validate({
        "call_id": call_id, "app_id": api.app_id, "direction": "outbound", "status": "queued",
        "from": new_number(), "to": "+14155550188", "from_channel": "pstn", "to_channel": "pstn",
        "max_duration_s": 2, "created_at": "2026-01-01T00:00:00Z"})
    event = make_event(call, "call.queued")
    container.call_repo.create(CallCreation(call=call.model_copy(update={"event_seq": 1}),
                                            event=event, takes_slot=False, max_concurrent=100))
    SqsCallQueue(container.settings).send(call_id)
    api.wait_status(call_id, {"in_progress"})
    done = api.wait_status(call_id, {"completed"}, timeout_s=8)
    assert done["end_reason"] == "max_duration"
    assert 1.5 <= done["duration_s"] <= 4
    assert peer.wait() == 0, peer.output()
