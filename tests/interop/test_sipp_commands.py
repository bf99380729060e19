"""Live call commands through the public API on calls with sipp: gather (RFC 2833 and SIP
INFO digits), hold/unhold (re-INVITE), transfer (REFER refused -> dial and bridge), 409s."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from voicelane_local.media_node import LocalNode

from tests.interop.sipp_helpers import SCENARIOS, Api, Sipp, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


def _outbound(api: Api, port: int) -> str:
    api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": port}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    call = api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550123"}))
    return str(call["id"])


def test_gather_collects_rfc2833_and_info_digits(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    caller = sipp("-sf", str(SCENARIOS / "uac_dtmf_late.xml"), "-s", number, "-mi", "127.0.0.1",
                  target=f"127.0.0.1:{media_node.sip_port}")
    call_id = api.wait_event_for_number(number)
    early = api.action(call_id, "gather", {"max_digits": 2})
    assert early.status_code == 409, early.text  # not answered yet
    assert api.action(call_id, "answer").status_code in (200, 202)
    api.wait_status(call_id, {"in_progress"})
    resp = api.action(call_id, "gather", {"max_digits": 2, "timeout_s": 8, "command_id": "g1"})
    assert resp.status_code in (200, 202), resp.text

    ended = api.wait_event(call_id, "call.gather.ended", timeout_s=12)
    assert ended["details"] == {"digits": "15", "reason": "max_digits"}
    digits = [e["details"]["digit"] for e in api.events(call_id) if e["type"] == "call.dtmf.received"]
    assert digits == ["1", "5"]
    assert caller.wait() == 0, caller.output()
    assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_caller"


def test_hold_and_unhold_send_reinvites(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sf", str(SCENARIOS / "uas_hold.xml"))
    call_id = _outbound(api, peer.port)
    api.wait_status(call_id, {"in_progress"})
    assert api.action(call_id, "unhold").status_code == 409  # not on hold
    assert api.action(call_id, "hold").status_code in (200, 202)
    hold = api.wait_event(call_id, "call.hold")
    assert hold["details"]["by"] == "api"
    assert api.action(call_id, "unhold").status_code in (200, 202)
    api.wait_event(call_id, "call.unhold")
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    api.wait_status(call_id, {"completed"})
    assert peer.wait() == 0, peer.output()


def test_transfer_refused_by_peer_dials_target_and_bridges(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sf", str(SCENARIOS / "uas_refer_refused.xml"))
    target = sipp("-sn", "uas")
    call_id = _outbound(api, peer.port)
    api.wait_status(call_id, {"in_progress"})
    resp = api.action(call_id, "transfer", {"to": f"sip:agent@127.0.0.1:{target.port}"})
    assert resp.status_code in (200, 202), resp.text
    bridged = api.wait_event(call_id, "call.bridged")
    assert bridged["details"]["refer_status"] == 405
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    api.wait_status(call_id, {"completed"})
    assert peer.wait() == 0, peer.output()
    assert target.wait() == 0, target.output()  # the bridged leg got its BYE too


def test_commands_on_unknown_call_and_bad_token_are_refused(media_node: LocalNode) -> None:
    import httpx

    url = f"{media_node.internal_url}/internal/calls/call_nope/actions/hangup"
    assert httpx.post(url, json={}).status_code == 401
    token = media_node.gateway.settings.internal_token
    resp = httpx.post(url, json={}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "call_not_here"
    assert httpx.get(f"{media_node.internal_url}/healthz").json()["ok"] is True


def test_an_agent_call_hung_up_through_the_api_says_so_in_agent_ended(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sn", "uas")
    api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": peer.port}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    call_id = api.ok(api.post("/v1/calls", {
        "from": number, "to": "+14155550123",
        "agent": {"name": "desk", "greeting": "Hello, how can I help?"}}))["id"]
    api.wait_event(call_id, "call.agent.started")
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    done = api.wait_status(call_id, {"completed"})
    assert done["end_reason"] == "hangup_by_api", done
    ended = api.wait_event(call_id, "call.agent.ended")["details"]
    assert ended["reason"] == "hangup_by_api", ended  # not caller_hangup: nobody hung up there
    transcript = api.ok(api.get(f"/v1/calls/{call_id}/transcript"))
    assert transcript["reason"] == "hangup_by_api", transcript
    assert peer.wait() == 0, peer.output()
