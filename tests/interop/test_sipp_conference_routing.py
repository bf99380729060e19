"""A number whose routing rule is a conference, against sipp callers on loopback: two callers
to the number meet in one conference by name (the first creates it, the second joins it),
each one's tone is in the room's recorded mix, and a caller that reaches another media node
is refused with 480 and ``conference_on_other_node`` instead of hanging."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform

from tests.interop.conference_peers import caller_scenario, channel, tone_levels
from tests.interop.sipp_helpers import SCENARIOS, Api, Sipp, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]

TONES = {"first": 500.0, "second": 700.0}
CALLERS = {"first": "+14155550101", "second": "+14155550102"}
PRESENT = 300.0  # tone amplitude in the mix (each caller plays at 6000)


@pytest.fixture
def other_node(local_platform: LocalPlatform) -> Iterator[LocalNode]:
    """A second media node of the same platform (the conference will not be on it)."""
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(
        sip_port=0, internal_http_port=0, rtp_port_min=base, rtp_port_max=base + 199,
        node_id=f"other-{random.randrange(16**6):06x}", poll_wait_s=1, heartbeat_s=2,
        ring_timeout_s=10, inbound_answer_timeout_s=4)
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        yield node
    finally:
        node.stop()


def _wait(what: str, check: Callable[[], Any], timeout_s: float = 15) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _standup(api: Api) -> dict[str, Any] | None:
    found = [c for c in api.ok(api.get("/v1/conferences"))["data"] if c["name"] == "standup"]
    assert len(found) <= 1, found  # one conference per name, however many callers
    return found[0] if found else None


def _call_from(api: Api, number: str, caller: str) -> dict[str, Any] | None:
    calls = api.ok(api.get("/v1/calls", params={"limit": 20}))["data"]
    return next((c for c in calls if c["to"] == number and c["from"] == caller), None)


def test_two_callers_meet_in_the_conference_named_by_the_rule_and_another_node_refuses(
        api: Api, media_node: LocalNode, other_node: LocalNode, sipp: Callable[..., Sipp],
        tmp_path: Path) -> None:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number, "routing": [
        {"name": "standup", "action": {"type": "conference", "conference": "standup",
                                       "record": True, "beep": False}}]}))
    here = f"127.0.0.1:{media_node.sip_port}"

    def caller(name: str, hold_ms: int) -> Sipp:
        scenario = caller_scenario(tmp_path, name, CALLERS[name], TONES[name], hold_ms)
        return sipp("-sf", str(scenario), "-s", number, "-mi", "127.0.0.1", target=here)

    first = caller("first", 2500)
    conf = _wait("the first caller in the conference",
                 lambda: (c := _standup(api)) and c["participant_count"] == 1 and c)
    assert conf["media_node"] == media_node.settings.node_id
    second = caller("second", 1200)
    _wait("both callers in", lambda: _standup(api)["participant_count"] == 2)
    # the conference lives on media_node: a caller reaching the other node is refused (480)
    refused = sipp("-sf", str(SCENARIOS / "uac_unavailable.xml"), "-s", number,
                   target=f"127.0.0.1:{other_node.sip_port}")
    assert refused.wait(15) == 0, refused.output()
    assert second.wait(15) == 0, second.output()
    assert first.wait(15) == 0, first.output()

    ended = _wait("the conference ended",
                  lambda: (c := _standup(api)) and c["status"] == "ended" and c)
    assert (ended["end_reason"], ended["participants_total"]) == ("last_participant_left", 2)
    calls = {name: _call_from(api, number, who) for name, who in CALLERS.items()}
    parts = api.ok(api.get(f"/v1/conferences/{conf['id']}/participants"))["data"]
    assert [p["call_id"] for p in parts] == [calls["first"]["id"], calls["second"]["id"]]
    assert all(p["left_reason"] == "hangup_by_caller" for p in parts), parts

    for name, call in calls.items():
        done = api.wait_status(call["id"], {"completed"})
        assert done["routing_rule"]["name"] == "standup", done
        assert done["routing_rule"]["conference"]["conference"] == "standup"
        events = api.events(call["id"])
        assert events[0]["details"]["routing_rule"]["action"] == "conference"
        routed = [e["details"] for e in events if e["type"] == "call.routing.conference"]
        assert routed == [{"conference": "standup", "result": "joined",
                           "created": name == "first", "conference_id": conf["id"]}], events

    other = _call_from(api, number, "+15105550122")
    assert other is not None
    other = api.wait_status(other["id"], {"failed"})
    assert (other["end_reason"], other["sip_cause"]) == ("conference_on_other_node", 480), other
    assert other["answered_at"] is None
    routed = [e["details"] for e in api.events(other["id"])
              if e["type"] == "call.routing.conference"]
    assert routed == [{"conference": "standup", "result": "conference_on_other_node",
                       "created": False}], routed

    # the second caller's voice reached the room the first was in: both tones in the mix
    _wait("the mix saved", lambda: "conference.recording.saved" in [
        e["type"] for e in api.ok(api.get(f"/v1/conferences/{conf['id']}/events"))["data"]])
    types = [e["type"] for e in api.ok(api.get(f"/v1/conferences/{conf['id']}/events"))["data"]]
    assert types == ["conference.created", "conference.participant.joined",
                     "conference.participant.joined", "conference.participant.left",
                     "conference.participant.left", "conference.recording.saved",
                     "conference.ended"], types
    rec = api.ok(api.get(f"/v1/conferences/{conf['id']}/recording"))
    mix, rate = channel(httpx.get(rec["download_url"], timeout=15).content, 0)
    levels = tone_levels(mix, rate, TONES)
    assert all(levels[t] > PRESENT for t in TONES), levels
