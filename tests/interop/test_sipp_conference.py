"""A three-party conference on one media node against three sipp peers on loopback.

Each peer is a called party playing its own steady tone (A 500 Hz, B 700 Hz, C 900 Hz). A is
called through a trunk and joins as moderator; B and C are dialled straight into the
conference by its node. Each leg's own recording (channel 1: what the node sent it, i.e. what
it heard) must hold the other two tones and not its own; after B is muted, A no longer hears
B (B still hears both); C on hold hears nothing and is not heard; C is kicked (its call ends); A leaving ends the conference (end_on_moderator_leave), which
hangs B up and saves the room's mix, beeps included.

An AI agent as a participant: a sipp peer that says one sentence (espeak-ng in its pcap) and
the app's agent seated with ``agent_id`` on the local engines (Whisper, scripted, Piper). The
peer's recording holds the agent's greeting (its only other participant), the agent's
transcript holds the peer's sentence and never the agent's own words, and kicking the agent
ends its call.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from voicelane.domain.agent import AgentSpec
from voicelane_local.media_node import LocalNode
from voicelane_media.agent.engines import build_engines
from voicelane_media.sim.greetings import silence, speech

from tests.interop.conference_peers import (
    channel,
    loudest_window,
    pcap_scenario,
    pcm_pcap,
    tone_levels,
    tone_scenario,
)
from tests.interop.sipp_helpers import (
    Api,
    Sipp,
    download_recording,
    free_udp_port,
    new_number,
    requires_sipp,
    wait_until,
)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng not installed")

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(90)]

TONES = {"a": 500.0, "b": 700.0, "c": 900.0}
BEEP_HZ = 1400.0
HEARD = 1  # a call recording's channel 1: what the node sent the leg (the room, for it)
PRESENT, ABSENT = 300.0, 60.0  # tone amplitudes (each peer plays at 6000)


def _peer(sipp: Callable[..., Sipp], tmp_path: Path, name: str) -> Sipp:
    scenario = tone_scenario(tmp_path, name, TONES[name], seconds=20)
    return sipp("-sf", str(scenario), "-mi", "127.0.0.1", "-mp", str(free_udp_port()),
                timeout_s=40)


def _heard(api: Api, call_id: str, saved: int) -> dict[str, float]:
    """Tone levels in what the leg heard, once its ``saved``-th recording is stored."""
    wait_until(f"recording {saved} of {call_id}",
          lambda: api.event_types(call_id).count("call.recording.saved") >= saved)
    _, wav = download_recording(api, call_id)
    samples, rate = channel(wav, HEARD)
    return tone_levels(samples, rate, TONES)


def test_three_party_conference_mixes_mutes_kicks_and_ends(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    peers = {name: _peer(sipp, tmp_path, name) for name in TONES}
    conf = api.ok(api.post("/v1/conferences", {"name": "standup", "record": True,
                                               "record_tracks": True,
                                               "end_on_moderator_leave": True}))
    conf_id = conf["id"]
    api.ok(api.post("/v1/trunks", {"name": "a", "host": "127.0.0.1",
                                   "port": peers["a"].port, "transport": "udp"}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    a = api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550123"}))["id"]
    api.wait_status(a, {"in_progress"})
    api.ok(api.action(a, "join_conference", {"conference_id": conf_id, "moderator": True}))
    for name in ("b", "c"):
        api.ok(api.post(f"/v1/conferences/{conf_id}/participants",
                        {"to": f"sip:{name}@127.0.0.1:{peers[name].port}"}))

    def joined() -> list[dict[str, Any]] | None:
        found = api.ok(api.get(f"/v1/conferences/{conf_id}/participants"))["data"]
        return found if len(found) == 3 else None

    legs = {"a": a}
    for p in wait_until("three participants", joined):
        if p["call_id"] != a:
            call = api.call(p["call_id"])
            assert call["parent_call_id"] == a and call["leg_purpose"] == "conference"
            legs[call["to"].split(":")[1].split("@")[0]] = p["call_id"]
    assert set(legs) == set(TONES), legs
    assert api.ok(api.get(f"/v1/conferences/{conf_id}"))["media_node"] == media_node.settings.node_id

    # everyone hears the other two and not themselves
    for call_id in legs.values():
        api.ok(api.action(call_id, "record_start"))
    time.sleep(1.2)
    for call_id in legs.values():
        api.ok(api.action(call_id, "record_stop"))
    for name, call_id in legs.items():
        levels = _heard(api, call_id, 1)
        others = [o for o in TONES if o != name]
        assert all(levels[o] > PRESENT for o in others), (name, levels)
        assert levels[name] < ABSENT, (name, levels)

    # B muted: A hears C only, B still hears A and C
    api.ok(api.post(f"/v1/conferences/{conf_id}/participants/{legs['b']}/actions/mute"))
    wait_until("muted", lambda: "conference.participant.muted" in _conf_types(api, conf_id))
    for call_id in (a, legs["b"]):
        api.ok(api.action(call_id, "record_start"))
    time.sleep(0.8)
    for call_id in (a, legs["b"]):
        api.ok(api.action(call_id, "record_stop"))
    levels = _heard(api, a, 2)
    assert levels["c"] > PRESENT and levels["b"] < ABSENT, levels
    levels = _heard(api, legs["b"], 2)
    assert levels["a"] > PRESENT and levels["c"] > PRESENT, levels

    # C on hold (silence): C hears nothing, A (B muted) hears nobody
    api.ok(api.post(f"/v1/conferences/{conf_id}/participants/{legs['c']}/actions/hold"))
    wait_until("held", lambda: "conference.participant.held" in _conf_types(api, conf_id))
    for call_id in (a, legs["c"]):
        api.ok(api.action(call_id, "record_start"))
    time.sleep(0.8)
    for call_id in (a, legs["c"]):
        api.ok(api.action(call_id, "record_stop"))
    assert max(_heard(api, a, 3).values()) < ABSENT
    assert max(_heard(api, legs["c"], 2).values()) < ABSENT

    # C kicked: its call ends, the others stay
    api.ok(api.post(f"/v1/conferences/{conf_id}/participants/{legs['c']}/actions/kick"))
    kicked = api.wait_status(legs["c"], {"completed"})
    assert kicked["end_reason"] == "conference_kicked", kicked

    # the moderator leaves: the conference ends and hangs B up
    api.ok(api.post(f"/v1/calls/{a}/hangup"))
    b_done = api.wait_status(legs["b"], {"completed"})
    assert b_done["end_reason"] == "conference_ended", b_done
    def conference_ended() -> dict[str, Any] | None:
        got: dict[str, Any] = api.ok(api.get(f"/v1/conferences/{conf_id}"))
        return got if got["status"] == "ended" else None

    ended = wait_until("ended", conference_ended)
    assert ended["end_reason"] == "moderator_left" and ended["participant_count"] == 0
    parts = {p["call_id"]: p for p in api.ok(api.get(
        f"/v1/conferences/{conf_id}/participants"))["data"]}
    assert parts[legs["c"]]["left_reason"] == "kicked" and parts[legs["b"]]["muted"] is True
    wait_until("mix and tracks saved",  # one file per participant, then the mix
          lambda: _conf_types(api, conf_id).count("conference.recording.saved") == 4)
    types = _conf_types(api, conf_id)
    assert types[0] == "conference.created" and types[-1] == "conference.ended", types
    assert types.count("conference.participant.joined") == 3
    assert types.count("conference.participant.left") == 3
    rec = api.ok(api.get(f"/v1/conferences/{conf_id}/recording"))
    assert rec["channels"] == 1
    mix, rate = channel(httpx.get(rec["download_url"], timeout=15).content, 0)
    levels = tone_levels(mix, rate, TONES)
    assert all(levels[t] > PRESENT for t in TONES), levels  # everyone spoke into the room
    beep = loudest_window(mix, rate, BEEP_HZ)
    assert beep > 2000, beep  # joins and leaves were marked (a 100 ms tone at 6000)
    # one track per participant: its own voice only (no one else's, no beeps), placed by
    # its join in the mix
    tracks = {t["call_id"]: t for t in rec["tracks"]}
    assert set(tracks) == set(legs.values()), rec["tracks"]
    assert tracks[a]["offset_s"] == 0 < tracks[legs["b"]]["offset_s"], rec["tracks"]
    assert all(t["offset_s"] + t["duration_s"] <= rec["duration_s"] + 0.05
               for t in rec["tracks"]), (rec["duration_s"], rec["tracks"])
    saved = [e["details"] for e in api.ok(api.get(f"/v1/conferences/{conf_id}/events"))["data"]
             if e["type"] == "conference.recording.saved"]
    assert [d["kind"] for d in saved] == ["track"] * 3 + ["mix"], saved
    for name, call_id in legs.items():
        track = tracks[call_id]
        samples, rate = channel(httpx.get(track["download_url"], timeout=15).content, 0)
        assert rate == 8000 and abs(samples.shape[0] / rate - track["duration_s"]) < 0.05
        levels = tone_levels(samples, rate, {**TONES, "beep": BEEP_HZ})
        assert levels[name] > PRESENT, (name, levels)
        assert all(levels[o] < ABSENT for o in (*TONES, "beep") if o != name), (name, levels)
    for peer in peers.values():
        assert peer.wait(timeout_s=20) == 0, peer.output()


def _conf_types(api: Api, conf_id: str) -> list[str]:
    return [e["type"] for e in api.ok(api.get(f"/v1/conferences/{conf_id}/events"))["data"]]


GREETING = "Hello everyone, I take notes."
SAYS = "Book a table for two people tomorrow"


@needs_espeak
def test_an_agent_participant_hears_the_room_and_speaks_into_it(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    build_engines(AgentSpec(name="warm"))  # the models load before the call, not in it
    # The peer is quiet while the agent is seated and greets, then says its sentence.
    pcm = np.concatenate([silence(3500), speech(SAYS), silence(6000)])
    peer = sipp("-sf", str(pcap_scenario(tmp_path, "talker", pcm_pcap(tmp_path / "t.pcap", pcm))),
                "-mi", "127.0.0.1", "-mp", str(free_udp_port()), timeout_s=40)
    agent = api.ok(api.post("/v1/agents", {"name": "notes", "greeting": GREETING}))
    conf_id = api.ok(api.post("/v1/conferences", {"name": "sync", "beep": False}))["id"]
    api.ok(api.post("/v1/trunks", {"name": "p", "host": "127.0.0.1", "port": peer.port}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    a = api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550123",
                                      "recording": True}))["id"]
    api.wait_status(a, {"in_progress"})
    api.ok(api.action(a, "join_conference", {"conference_id": conf_id}))
    wait_until("a joined", lambda: "conference.participant.joined" in _conf_types(api, conf_id))
    api.ok(api.post(f"/v1/conferences/{conf_id}/participants", {"agent_id": agent["id"]}))

    def seated() -> dict[str, Any] | None:
        events = api.ok(api.get(f"/v1/conferences/{conf_id}/events"))["data"]
        return next((e["details"] for e in events if e["type"] == "conference.participant.joined"
                     and e["details"].get("agent_id")), None)

    joined = wait_until("the agent joined", seated)
    assert joined["agent_id"] == agent["id"], joined
    seat_id = joined["call_id"]
    seat = api.call(seat_id)
    assert (seat["to_channel"], seat["to"], seat["leg_purpose"], seat["parent_call_id"]) == (
        "agent", f"agent:{agent['id']}", "conference_agent", a), seat

    def caller_turn() -> str | None:
        turns = [e["details"] for e in api.events(seat_id) if e["type"] == "call.agent.turn"]
        return next((t["text"] for t in turns if t["role"] == "caller" and t.get("text")), None)

    wait_until("the agent heard the peer", caller_turn, timeout_s=30)
    api.ok(api.post(f"/v1/conferences/{conf_id}/participants/{seat_id}/actions/kick"))
    assert api.wait_status(seat_id, {"completed"})["end_reason"] == "conference_kicked"
    left = [e["details"] for e in api.ok(api.get(f"/v1/conferences/{conf_id}/events"))["data"]
            if e["type"] == "conference.participant.left"]
    assert left and left[0]["agent_id"] == agent["id"] and left[0]["reason"] == "kicked", left
    api.ok(api.post(f"/v1/calls/{a}/hangup"))
    api.wait_status(a, {"completed"})

    # The peer heard the agent (nobody else is in the room: no beeps, its own voice not mixed
    # back) for about as long as the greeting lasts.
    heard, rate = channel(_saved(api, a), HEARD)
    voiced_s = float((np.abs(heard) > 500).sum()) / rate
    assert voiced_s > 0.5, voiced_s
    transcript = api.ok(api.get(f"/v1/calls/{seat_id}/transcript"))
    said = " ".join(t["text"] for t in transcript["turns"] if t["role"] == "caller").lower()
    words = {w.strip(".,!?") for w in said.split()}
    # Whisper tiny on a phone's 8 kHz band misses a word or two ("book a table" may come out
    # "look at people"): most of the sentence's content words are enough.
    assert len(words & {"book", "table", "two", "people", "tomorrow"}) >= 3, said
    assert not {"notes", "everyone"} & words, transcript["turns"]  # never its own greeting
    assert any(t["role"] == "agent" for t in transcript["turns"]), transcript["turns"]
    assert peer.wait(timeout_s=20) == 0, peer.output()


def _saved(api: Api, call_id: str) -> bytes:
    wait_until(f"recording of {call_id}", lambda: "call.recording.saved" in api.event_types(call_id))
    return download_recording(api, call_id)[1]
