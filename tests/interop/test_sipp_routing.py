"""Inbound routing rules against sipp peers: a rule chooses the target by the hour (the node's
control plane reads a clock the test sets) and by the caller's country; a ring-all where the
first target to answer is bridged to the caller, the one still ringing gets a CANCEL and the
one that answers late gets ACK then BYE; a target outside the app's allow-list is never
dialled."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform
from voicelane_media.codecs.g711 import pcma_from_pcm

from tests.interop.sipp_helpers import (
    SCENARIOS,
    Api,
    Sipp,
    download_recording,
    new_number,
    requires_sipp,
    wav_channels,
)

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


class SetClock:
    """The moment the control plane evaluates routing rules at."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> SetClock:
    return SetClock()


@pytest.fixture
def api(local_platform: LocalPlatform) -> Iterator[Api]:
    """A fresh app with the default allow-list (its own number's country, +1 here)."""
    container = local_platform.container
    limits = RateLimits(create_call=1000, sessions=1000, reads=100_000, lists=100_000,
                        writes=100_000)
    app = container.apps.create_app("routing", allow_private_webhooks=True,
                                    rate_limits=limits)
    _, key = container.apps.create_key(app.app_id, "test")
    with httpx.Client(base_url=local_platform.api_url, timeout=15,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        yield Api(client, app.app_id)


@pytest.fixture(scope="module")
def media_node(local_platform: LocalPlatform, clock: SetClock) -> Iterator[LocalNode]:
    """This module's node: its control plane reads the time from ``clock``."""
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(
        sip_port=0, internal_http_port=0, rtp_port_min=base, rtp_port_max=base + 199,
        node_id=f"routing-{random.randrange(16**6):06x}", poll_wait_s=1, heartbeat_s=2,
        ring_timeout_s=10, inbound_answer_timeout_s=4)
    gateway = local_platform.container.media_gateway.with_clock(clock)
    node = LocalNode(settings, gateway).start()
    try:
        yield node
    finally:
        node.stop()


def _tone(directory: Path) -> None:
    t = np.arange(8000) / 8000
    (directory / "caller.pcma").write_bytes(
        pcma_from_pcm((6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)))


def _target(sipp: Callable[..., Sipp]) -> Sipp:
    """A target that answers, echoes what it hears, and exits on our BYE."""
    return sipp("-sf", str(SCENARIOS / "uas_answer_bye.xml"), "-rtp_echo", "-mi", "127.0.0.1")


def _call(sipp: Callable[..., Sipp], node: LocalNode, number: str, caller: str) -> Sipp:
    return sipp("-sf", str(SCENARIOS / "uac_routed.xml"), "-s", number, "-key", "caller",
                caller, "-mi", "127.0.0.1", target=f"127.0.0.1:{node.sip_port}")


def _routed_call(api: Api, number: str, seen: set[str]) -> dict[str, object]:
    call_id = api.wait_event_for_number(number)
    while call_id in seen:
        call_id = api.wait_event_for_number(number)
    seen.add(call_id)
    return api.wait_status(call_id, {"completed", "no_answer", "failed", "canceled"})


def _office_number(api: Api, office: Sipp, night: Sipp, uk: Sipp) -> str:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number, "routing": [
        {"name": "uk-callers", "when": {"caller_countries": ["GB"]},
         "action": {"type": "forward", "to": f"sip:uk@127.0.0.1:{uk.port}"}},
        {"name": "office-hours",
         "when": {"time": {"time_zone": "Europe/Paris", "days": ["mon", "tue", "wed", "thu",
                                                                  "fri"],
                           "start": "09:00", "end": "18:00"}},
         "action": {"type": "forward", "to": f"sip:office@127.0.0.1:{office.port}"}},
        {"name": "after-hours",
         "action": {"type": "forward", "to": f"sip:night@127.0.0.1:{night.port}"}}]}))
    return number


def test_rules_route_by_the_hour_and_by_the_callers_country(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], clock: SetClock,
        tmp_path: Path) -> None:
    _tone(tmp_path)
    seen: set[str] = set()
    office, night, uk = (_target(sipp) for _ in range(3))
    number = _office_number(api, office, night, uk)

    clock.now = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # Monday 10:30 in Paris
    assert _call(sipp, media_node, number, "+14155550123").wait(25) == 0
    first = _routed_call(api, number, seen)
    assert office.wait(10) == 0, office.output()  # it took the call, and got our BYE

    clock.now = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)  # Monday 20:00 in Paris
    assert _call(sipp, media_node, number, "+14155550123").wait(25) == 0
    second = _routed_call(api, number, seen)
    assert night.wait(10) == 0, night.output()

    assert _call(sipp, media_node, number, "+442079460123").wait(25) == 0  # still 20:00
    third = _routed_call(api, number, seen)
    assert uk.wait(10) == 0, uk.output()

    for call, rule, target in ((first, "office-hours", office), (second, "after-hours", night),
                               (third, "uk-callers", uk)):
        assert call["status"] == "completed" and call["end_reason"] == "hangup_by_caller", call
        assert call["routing_rule"]["name"] == rule, call
        events = api.events(str(call["id"]))
        initiated = events[0]
        assert initiated["type"] == "call.initiated"
        assert initiated["details"]["routing_rule"]["name"] == rule
        bridged = [e for e in events if e["type"] == "call.bridged"]
        assert bridged and bridged[0]["details"]["to"].endswith(f":{target.port}"), events


def test_ring_all_bridges_the_first_answer_cancels_the_ringing_and_releases_a_late_200(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    _tone(tmp_path)
    answers = _target(sipp)
    rings = sipp("-sf", str(SCENARIOS / "uas_ring_cancel.xml"))
    late = sipp("-sf", str(SCENARIOS / "uas_late_200.xml"))
    number = new_number()
    api.ok(api.post("/v1/trunks", {"name": "echo", "host": "127.0.0.1", "port": answers.port,
                                   "transport": "udp"}))
    api.ok(api.post("/v1/numbers", {"number": number, "routing": [
        {"name": "everyone", "action": {"type": "ring_all", "record": True, "targets": [
            "+14155550142", f"sip:desk@127.0.0.1:{rings.port}",
            f"sip:late@127.0.0.1:{late.port}", "+882123456789"]}}]}))

    assert _call(sipp, media_node, number, "+14155550123").wait(25) == 0
    call = _routed_call(api, number, set())
    assert answers.wait(10) == 0, answers.output()  # answered, bridged, BYE'd at the end
    assert rings.wait(10) == 0, rings.output()  # got its CANCEL, answered 487
    assert late.wait(10) == 0, late.output()  # its 200 was ACKed, then BYE'd

    assert call["status"] == "completed", call
    events = api.events(str(call["id"]))
    results = {e["details"]["to"]: e["details"]["result"] for e in events
               if e["type"] == "call.routing.target"}
    assert results == {"+14155550142": "answered", f"sip:desk@127.0.0.1:{rings.port}": "canceled",
                       f"sip:late@127.0.0.1:{late.port}": "answered_late_released",
                       "+882123456789": "not_allowed"}, events
    # Each target dialled is a leg record of its own, linked to the caller's call.
    legs = {e["details"]["to"]: api.call(e["details"]["leg_call_id"]) for e in events
            if e["type"] == "call.routing.target" and "leg_call_id" in e["details"]}
    assert set(legs) == set(results) - {"+882123456789"}  # the refused one has no record
    assert all(leg["parent_call_id"] == call["id"] for leg in legs.values()), legs
    winner = legs["+14155550142"]
    bridged = next(e for e in events if e["type"] == "call.bridged")["details"]
    assert bridged == {"to": "+14155550142", "bridged_call_id": winner["id"]}
    winner_bridged = api.wait_event(winner["id"], "call.bridged")
    assert winner_bridged["details"]["bridged_call_id"] == call["id"]
    assert winner_bridged["data"]["bridged_call_id"] == call["id"]  # the record, as written
    assert winner["from"] == "+14155550123"  # the target sees who calls
    assert api.wait_status(winner["id"], {"completed"})["answered_at"] is not None
    ringing = legs[f"sip:desk@127.0.0.1:{rings.port}"]
    assert (ringing["status"], ringing["end_reason"], ringing["sip_cause"]) == (
        "canceled", "answered_elsewhere", 487), ringing
    crossed = legs[f"sip:late@127.0.0.1:{late.port}"]
    assert (crossed["status"], crossed["end_reason"]) == ("canceled", "answered_elsewhere")
    types = [e["type"] for e in events]
    assert types.index("call.routing.dialing") < types.index("call.answered") \
        < types.index("call.bridged"), types
    # The bridge carries audio both ways: the caller's tone reached the target, whose echo
    # came back to the caller (the recording's right channel is what the caller heard).
    api.wait_event(str(call["id"]), "call.recording.saved")
    _, wav = download_recording(api, str(call["id"]))
    channels, rms = wav_channels(wav)
    assert channels == 2 and rms[0] > 300, rms
    assert rms[1] > 150, f"the target's echo should reach the caller through the bridge: {rms}"


def test_a_round_robin_tries_the_next_target_when_one_is_busy_and_480_when_none_answers(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    _tone(tmp_path)
    busy, answers = sipp("-sf", str(SCENARIOS / "uas_busy.xml")), _target(sipp)
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number, "routing": [
        {"name": "team", "action": {"type": "round_robin", "targets": [
            f"sip:first@127.0.0.1:{busy.port}", f"sip:second@127.0.0.1:{answers.port}"]}}]}))
    assert _call(sipp, media_node, number, "+14155550123").wait(25) == 0
    call = _routed_call(api, number, set())
    assert busy.wait(10) == 0 and answers.wait(10) == 0, (busy.output(), answers.output())
    assert call["status"] == "completed" and call["routing_rule"]["targets"][0].endswith(
        f":{busy.port}"), call
    targets = [e["details"] for e in api.events(str(call["id"]))
               if e["type"] == "call.routing.target"]
    assert [(t["to"].split("@")[0], t["result"]) for t in targets] == [
        ("sip:first", "busy"), ("sip:second", "answered")], targets
    assert targets[0]["sip_status"] == 486

    nobody = sipp("-sf", str(SCENARIOS / "uas_busy.xml"))
    lonely = new_number()
    api.ok(api.post("/v1/numbers", {"number": lonely, "routing": [
        {"name": "only", "action": {"type": "forward", "to": f"sip:x@127.0.0.1:{nobody.port}"}}]}))
    caller = sipp("-sf", str(SCENARIOS / "uac_unavailable.xml"), "-s", lonely,
                  target=f"127.0.0.1:{media_node.sip_port}")
    assert caller.wait(25) == 0, caller.output()
    unanswered = _routed_call(api, lonely, set())
    assert (unanswered["status"], unanswered["end_reason"], unanswered["sip_cause"]) == (
        "no_answer", "targets_not_answered", 480), unanswered
