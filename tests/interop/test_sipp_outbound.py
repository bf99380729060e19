"""Outbound calls from the API through a media node to sipp acting as the called party."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sipp_helpers import Api, Sipp, new_number, requires_sipp
from voicelane_media.local import LocalNode

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


def _trunk(api: Api, port: int, **extra: object) -> dict[str, object]:
    body = {"name": f"sipp-{port}", "host": "127.0.0.1", "port": port, "transport": "udp", **extra}
    created: dict[str, object] = api.ok(api.post("/v1/trunks", body))
    return created


def _create_call(api: Api, **extra: object) -> str:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    call = api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550199", **extra}))
    assert call["status"] == "queued"
    return str(call["id"])


def test_outbound_call_to_sipp_uas_rings_answers_and_hangs_up(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    peer = sipp("-sn", "uas")
    _trunk(api, peer.port)
    call_id = _create_call(api, sip_headers={"X-Campaign": "spring"})

    answered = api.wait_status(call_id, {"in_progress"})
    assert answered["answered_at"] is not None
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    done = api.wait_status(call_id, {"completed"})

    assert done["end_reason"] == "hangup_by_api"
    assert done["duration_s"] is not None and done["duration_s"] >= 0
    assert done["quality"]["packets_sent"] > 0
    types = api.event_types(call_id)
    assert types[:4] == ["call.queued", "call.initiated", "call.ringing", "call.answered"]
    assert types[-1] == "call.completed"
    assert peer.wait() == 0, peer.output()
