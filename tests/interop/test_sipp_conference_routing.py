"""A number whose routing rule is a conference, against sipp callers on loopback: callers to
the number meet in one conference by name (the first creates it, the next join it), a caller
that reaches another media node is bridged to the conference's node over a SIP leg, every
caller's tone is in the room's recorded mix, and an INVITE to a node that names a conference
bridge without a token the control plane signed joins nothing (403)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform
from voicelane_media.calls import conference_routing

from tests.interop.conference_peers import caller_scenario, channel, tone_levels
from tests.interop.sipp_helpers import (
    Api,
    Sipp,
    bare_invite,
    new_number,
    requires_sipp,
    statuses,
    wait_until,
)

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]

TONES = {"first": 500.0, "second": 700.0, "bridged": 900.0}
CALLERS = {"first": "+14155550101", "second": "+14155550102", "bridged": "+14155550103"}
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


def _standup(api: Api) -> dict[str, Any] | None:
    found = [c for c in api.ok(api.get("/v1/conferences"))["data"] if c["name"] == "standup"]
    assert len(found) <= 1, found  # one conference per name, however many callers
    return found[0] if found else None


def _call_from(api: Api, number: str, caller: str) -> dict[str, Any] | None:
    calls = api.ok(api.get("/v1/calls", params={"limit": 20}))["data"]
    return next((c for c in calls if c["to"] == number and c["from"] == caller), None)


def test_callers_meet_in_the_conference_named_by_the_rule_even_from_another_node(
        api: Api, media_node: LocalNode, other_node: LocalNode, sipp: Callable[..., Sipp],
        tmp_path: Path) -> None:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number, "routing": [
        {"name": "standup", "action": {"type": "conference", "conference": "standup",
                                       "record": True, "beep": False}}]}))

    def caller(name: str, hold_ms: int, node: LocalNode) -> Sipp:
        scenario = caller_scenario(tmp_path, name, CALLERS[name], TONES[name], hold_ms)
        return sipp("-sf", str(scenario), "-s", number, "-mi", "127.0.0.1",
                    target=f"127.0.0.1:{node.sip_port}")

    first = caller("first", 3000, media_node)
    conf = wait_until("the first caller in the conference",
                 lambda: (c := _standup(api)) and c["participant_count"] == 1 and c)
    assert conf["media_node"] == media_node.settings.node_id
    second = caller("second", 1500, media_node)
    bridged = caller("bridged", 1500, other_node)  # the conference is not on this node
    wait_until("three callers in", lambda: _standup(api)["participant_count"] == 3)
    for name, peer in (("bridged", bridged), ("second", second), ("first", first)):
        assert peer.wait(15) == 0, (name, peer.output())

    ended = wait_until("the conference ended",
                  lambda: (c := _standup(api)) and c["status"] == "ended" and c)
    assert (ended["end_reason"], ended["participants_total"]) == ("last_participant_left", 3)
    assert ended["media_node"] == media_node.settings.node_id
    calls = {name: _call_from(api, number, who) for name, who in CALLERS.items()}
    parts = api.ok(api.get(f"/v1/conferences/{conf['id']}/participants"))["data"]
    assert {p["call_id"] for p in parts} == {c["id"] for c in calls.values()}, (parts, calls)
    assert all(p["left_reason"] == "hangup_by_caller" for p in parts), parts

    for name, call in calls.items():
        done = api.wait_status(call["id"], {"completed"})
        assert (done["end_reason"], done["routing_rule"]["name"]) == (
            "hangup_by_caller", "standup"), done
        assert done["routing_rule"]["conference"]["conference"] == "standup"
        events = api.events(call["id"])
        assert events[0]["details"]["routing_rule"]["action"] == "conference"
        (routed,) = [e["details"] for e in events if e["type"] == "call.routing.conference"]
        assert (routed["result"], routed["created"], routed["conference_id"]) == (
            "bridged" if name == "bridged" else "joined", name == "first", conf["id"]), routed
    # the bridged caller's leg: a call of its own from its node to the conference's
    (routed,) = [e["details"] for e in api.events(calls["bridged"]["id"])
                 if e["type"] == "call.routing.conference"]
    leg = api.wait_status(routed["leg_call_id"], {"completed"})
    assert (leg["parent_call_id"], leg["leg_purpose"], leg["end_reason"]) == (
        calls["bridged"]["id"], "conference_bridge", "bridged_party_hangup"), leg
    assert routed["conference_node"] == media_node.settings.node_id

    # every caller's voice reached the room, the bridged one's too: all tones in the mix
    wait_until("the mix saved", lambda: "conference.recording.saved" in [
        e["type"] for e in api.ok(api.get(f"/v1/conferences/{conf['id']}/events"))["data"]])
    types = [e["type"] for e in api.ok(api.get(f"/v1/conferences/{conf['id']}/events"))["data"]]
    assert types[0] == "conference.created" and types[-2:] == [
        "conference.recording.saved", "conference.ended"], types
    assert types.count("conference.participant.joined") == 3
    assert types.count("conference.participant.left") == 3
    rec = api.ok(api.get(f"/v1/conferences/{conf['id']}/recording"))
    mix, rate = channel(httpx.get(rec["download_url"], timeout=15).content, 0)
    levels = tone_levels(mix, rate, TONES)
    assert all(levels[t] > PRESENT for t in TONES), levels


def test_a_bridge_invite_without_a_signed_token_joins_nothing(media_node: LocalNode) -> None:
    sdp = ("v=0\no=x 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
           "m=audio 40000 RTP/AVP 0\na=rtpmap:0 PCMU/8000")
    for user in ("confbridge-", "confbridge-e30.e30", "confbridge-standup"):
        assert statuses(media_node.sip_port, bare_invite(user, sdp))[-1] == 403, user


def test_a_bridged_caller_ends_media_node_lost_when_the_conference_node_is_swept(
        api: Api, media_node: LocalNode, other_node: LocalNode, sipp: Callable[..., Sipp],
        tmp_path: Path, local_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    # The conference's node dying sends no BYE: the sweeper marks every seat left
    # (media_node_lost), and the bridged caller's own node must notice and end the call.
    monkeypatch.setattr(conference_routing, "SEAT_CHECK_S", 0.3)
    number = new_number()
    room = f"lost-{random.randrange(16**6):06x}"
    api.ok(api.post("/v1/numbers", {"number": number, "routing": [
        {"name": "lost", "action": {"type": "conference", "conference": room,
                                    "beep": False}}]}))

    def caller(name: str, node: LocalNode) -> Sipp:
        scenario = caller_scenario(tmp_path, name, CALLERS[name], TONES[name], 20000)
        return sipp("-sf", str(scenario), "-s", number, "-mi", "127.0.0.1",
                    target=f"127.0.0.1:{node.sip_port}")

    def conference() -> dict[str, Any] | None:
        found = [c for c in api.ok(api.get("/v1/conferences"))["data"] if c["name"] == room]
        return found[0] if found else None

    caller("first", media_node)
    wait_until("the first caller in", lambda: (c := conference()) and c["participant_count"] == 1)
    caller("bridged", other_node)
    conf = wait_until("both callers in",
                 lambda: (c := conference()) and c["participant_count"] == 2 and c)
    bridged = _call_from(api, number, CALLERS["bridged"])
    assert bridged is not None

    # what the sweeper does for a node whose heartbeats stopped (services/nodes.end_lost)
    local_platform.container.conferences.end_lost(media_node.settings.node_id)

    done = api.wait_status(bridged["id"], {"completed", "failed"}, timeout_s=10)
    assert done["end_reason"] == "media_node_lost", done
    (routed,) = [e["details"] for e in api.events(bridged["id"])
                 if e["type"] == "call.routing.conference"]
    leg = api.wait_status(routed["leg_call_id"], {"completed"}, timeout_s=10)
    assert leg["end_reason"] == "media_node_lost", leg  # the bridge leg was hung up too
    assert api.ok(api.get(f"/v1/conferences/{conf['id']}"))["end_reason"] == "media_node_lost"
