"""A browser and a phone in one call, both ways, with real peers on loopback: aiortc (the
library) as the browser, sipp as the phone, the real API, the real node (signalling, ICE,
DTLS-SRTP, Opus 48 kHz on one side, G.711 8 kHz through a trunk on the other).

- Browser to phone: the browser's tone comes back from sipp's RTP echo, so it crossed the
  bridge both ways (Opus -> G.711 -> sipp -> G.711 -> Opus): a tone can reach the browser
  only through sipp, since a bridge never plays a leg its own audio.
- Phone to browser: the browser registers with a client token, rings, answers, and hears
  sipp's 440 Hz tone; an unregistered identity is a 480 with ``client_not_registered``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import RTCSessionDescription
from voicelane_local.media_node import LocalNode
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.interop.sipp_helpers import (
    SCENARIOS,
    Api,
    Sipp,
    free_udp_port,
    new_number,
    requires_sipp,
)
from tests.voicelane_media.transports.webrtc.peer import Client
from tests.voicelane_media.transports.webrtc.phones import (
    RATE,
    caller_tone,
    client_number,
    leg_of,
    phone_session,
    tone,
)

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


def tone_frames(frames: list[np.ndarray], hz: float) -> int:
    """20 ms frames (48 kHz) whose energy is mostly at ``hz`` (a Goertzel test per frame)."""
    count = 0
    for frame in frames:
        x = frame.astype(np.float64)
        total = float(np.sum(x * x))
        if total < 1e6 * len(x) / 960:  # silence (well under the tone's level)
            continue
        n = np.arange(len(x))
        power = abs(np.sum(x * np.exp(-2j * np.pi * hz * n / RATE))) ** 2 * 2 / len(x)
        count += power > 0.5 * total
    return count


class EventsClient(Client):
    """The aiortc browser, with the softphone's ``events`` data channel."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, token)
        self.notes: list[dict[str, Any]] = []
        self.channel = self.pc.createDataChannel("events")
        self.channel.on("message", lambda m: self.notes.append(json.loads(m)))

    def types(self) -> list[str]:
        return [str(n["type"]) for n in self.notes]


async def _until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def test_a_browser_calls_a_phone_hears_it_both_ways_and_its_hangup_ends_the_phone(
        api: Api, rtc_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    phone = sipp("-sn", "uas", "-rtp_echo", "-mp", str(free_udp_port()))
    session, number = phone_session(api, phone.port)
    call = api.call(session["call_id"])
    assert (call["direction"], call["from_channel"], call["to_channel"], call["to"],
            call["caller_id"]) == ("outbound", "webrtc", "pstn", "+14155550199", number)

    async def talk() -> EventsClient:
        client = EventsClient(session["connect_url"], session["token"])
        reply = await client.offer()
        assert reply.status_code == 201, reply.text
        assert await _until(lambda: "answered" in client.types(), 10), client.notes
        start = len(client.heard.frames)
        assert tone_frames(client.heard.frames, 1000) == 0  # nothing echoes before we speak
        await asyncio.sleep(client.mic.say(tone(1000, 1.5)))
        # 25 of the 75 frames (0.5 s) clearly at 1 kHz: a loaded machine (8+ helpers on 2
        # cores) costs frames to late packets and Opus concealment, never the tone itself
        echoed = await _until(lambda: tone_frames(client.heard.frames[start:], 1000) >= 25, 5)
        heard = tone_frames(client.heard.frames[start:], 1000)
        assert echoed, f"only {heard} of 75 frames of the 1 kHz tone came back through sipp"
        assert (await client.hang_up()).status_code == 200
        return client

    client = asyncio.run(talk())
    assert client.types()[:2] == ["dialing", "answered"], client.notes
    browser = api.wait_status(session["call_id"], {"completed", "failed"})
    assert (browser["status"], browser["end_reason"]) == ("completed", "hangup_by_caller")
    leg = leg_of(api, session["call_id"])
    leg = api.wait_status(leg["id"], {"completed", "failed"})
    assert (leg["status"], leg["end_reason"], leg["leg_purpose"], leg["from"], leg["to"]) == (
        "completed", "bridge_ended", "browser_to_phone", number, "+14155550199")
    assert leg["quality"]["packets_received"] > 50, leg["quality"]  # sipp's echo
    assert phone.wait(10) == 0, phone.output()
    browser_types = api.event_types(session["call_id"])
    assert browser_types[:3] == ["call.queued", "call.initiated", "call.answered"]
    assert "call.bridged" in browser_types and browser_types[-1] == "call.completed"
    leg_types = api.event_types(leg["id"])
    assert leg_types[0] == "call.initiated" and "call.answered" in leg_types
    assert "call.bridged" in leg_types and leg_types[-1] == "call.completed"


def test_the_phone_hanging_up_ends_the_browsers_call(
        api: Api, rtc_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    phone = sipp("-sf", str(SCENARIOS / "uas_hangs_up.xml"), "-d", "2500", "-rtp_echo", "-mp",
                 str(free_udp_port()))
    session, _ = phone_session(api, phone.port)

    async def wait_for_the_phone() -> EventsClient:
        client = EventsClient(session["connect_url"], session["token"])
        assert (await client.offer()).status_code == 201
        assert await _until(lambda: "ended" in client.types(), 15), client.notes
        assert await _until(lambda: client.pc.connectionState == "closed", 10), \
            client.pc.connectionState
        await client.close()
        return client

    client = asyncio.run(wait_for_the_phone())
    ended = next(n for n in client.notes if n["type"] == "ended")
    assert ended["by"] == "phone"
    browser = api.wait_status(session["call_id"], {"completed", "failed"})
    assert (browser["status"], browser["end_reason"]) == ("completed", "bridge_ended")
    leg = api.wait_status(leg_of(api, session["call_id"])["id"], {"completed"})
    assert leg["end_reason"] == "hangup_by_callee"
    assert phone.wait(10) == 0, phone.output()


def test_a_busy_phone_ends_the_browsers_call_with_why(
        api: Api, rtc_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    phone = sipp("-sf", str(SCENARIOS / "uas_busy.xml"))
    session, _ = phone_session(api, phone.port)

    async def call() -> EventsClient:
        client = EventsClient(session["connect_url"], session["token"])
        assert (await client.offer()).status_code == 201
        assert await _until(lambda: "failed" in client.types(), 10), client.notes
        await client.close()
        return client

    client = asyncio.run(call())
    failed = next(n for n in client.notes if n["type"] == "failed")
    assert (failed["reason"], failed["sip_cause"]) == ("busy", 486)
    browser = api.wait_status(session["call_id"], {"completed", "failed"})
    assert browser["end_reason"] == "phone_busy"
    event = api.wait_event(session["call_id"], "call.bridge.failed")
    assert event["details"]["reason"] == "busy"


def test_a_session_to_a_phone_is_checked_before_anything_is_created(api: Api) -> None:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    cases = [
        ({"connection_type": "websocket", "to": "+14155550199", "from": number},
         422, "to_needs_webrtc"),
        ({"connection_type": "webrtc", "to": "+14155550199"}, 422, "to_and_from_required"),
        ({"connection_type": "webrtc", "to": "+14155550199", "from": number,
          "agent": {"name": "a"}}, 422, "to_agent_conflict"),
        ({"connection_type": "webrtc", "to": "4155550199", "from": number},
         422, "invalid_phone_number"),
        ({"connection_type": "webrtc", "to": "+14155550199", "from": "+14155550000"},
         422, "from_number_not_owned"),
    ]
    for body, status, code in cases:
        reply = api.post("/v1/sessions", body)
        assert (reply.status_code, reply.json()["error"]["code"]) == (status, code), body


# -- phone to browser ------------------------------------------------------------------------


def _inbound(api: Api, number: str, timeout_s: float = 10) -> dict[str, Any]:
    return api.call(api.wait_event_for_number(number, timeout_s))


async def _ring_and_answer(rtc_node: LocalNode, sipp: Callable[..., Sipp], number: str,
                           minted: dict[str, Any]) -> tuple[Client, list[dict[str, Any]]]:
    """Register for the identity, have sipp call ``number`` (3 s of caller.pcma, then BYE),
    answer with an aiortc browser; the client and the registration socket's messages."""
    messages: list[dict[str, Any]] = []
    async with connect(f"{minted['register_url']}?token={minted['token']}") as ws:
        messages.append(json.loads(await ws.recv()))
        caller = sipp("-sf", str(SCENARIOS / "uac_tone_to_client.xml"), "-s", number,
                      "-d", "3000", "-mi", "127.0.0.1", target=f"127.0.0.1:{rtc_node.sip_port}")
        incoming = json.loads(await asyncio.wait_for(ws.recv(), 10))
        messages.append(incoming)
        client = Client(incoming["answer_url"], minted["token"])
        sdp = await client.local_offer()
        reply = await client.post(sdp, minted["token"])
        assert reply.status_code == 201, reply.text
        await client.pc.setRemoteDescription(RTCSessionDescription(reply.text, "answer"))
        while len(messages) < 4:  # answered, then ended (sipp hangs up after 3 s)
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), 15)))
        assert await asyncio.to_thread(caller.wait, 15) == 0, caller.output()
    await client.close()
    return client, messages


def test_a_phone_rings_a_registered_browser_that_answers_and_hears_it(
        api: Api, rtc_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    identity = f"alice-{time.time_ns()}"
    number = client_number(api, identity)
    minted = api.ok(api.post("/v1/client_tokens", {"identity": identity}))
    assert minted["register_url"].endswith("/v1/media/clients") and minted["ice_servers"] == []
    caller_tone(tmp_path)
    client, messages = asyncio.run(_ring_and_answer(rtc_node, sipp, number, minted))
    assert [m["type"] for m in messages] == ["registered", "incoming", "answered", "ended"]
    assert messages[1]["from"] == "+15105550111" and messages[1]["to"] == number
    heard = tone_frames(client.heard.frames, 440)
    assert heard >= 60, f"only {heard} frames of sipp's 440 Hz tone reached the browser"
    call = api.wait_status(messages[1]["call_id"], {"completed", "failed"})
    assert (call["status"], call["end_reason"]) == ("completed", "hangup_by_caller")
    assert call["quality"]["packets_received"] > 100
    types = api.event_types(call["id"])
    assert types[:2] == ["call.initiated", "call.client.ringing"], types
    assert {"call.answered", "call.client.answered", "call.bridged"} <= set(types)


def test_a_slow_event_write_costs_the_browser_none_of_the_callers_first_seconds(
        api: Api, rtc_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller talks from its 200 OK on: the bridge to the browser starts with the answer,
    not after the answer's events are stored (a DynamoDB write, seconds on a loaded node).
    The node's real control plane, its call.client.answered write held for 2.5 s."""
    control = rtc_node.node.control
    record = control.record_event

    async def slow(call_id: str, event_type: str, details: dict[str, Any] | None = None) -> Any:
        if event_type == "call.client.answered":
            await asyncio.sleep(2.5)
        return await record(call_id, event_type, details)

    monkeypatch.setattr(control, "record_event", slow)
    identity = f"dave-{time.time_ns()}"
    number = client_number(api, identity)
    minted = api.ok(api.post("/v1/client_tokens", {"identity": identity}))
    caller_tone(tmp_path)
    client, messages = asyncio.run(_ring_and_answer(rtc_node, sipp, number, minted))
    heard = tone_frames(client.heard.frames, 440)
    assert heard >= 60, f"only {heard} of the caller's 150 tone frames reached the browser"
    types = api.event_types(api.wait_status(messages[1]["call_id"], {"completed"})["id"])
    assert {"call.client.answered", "call.bridged"} <= set(types), types


def test_an_unregistered_identity_is_480_and_a_declined_call_486(
        api: Api, rtc_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    identity = f"bob-{time.time_ns()}"
    number = client_number(api, identity)
    caller = sipp("-sf", str(SCENARIOS / "uac_refused.xml"), "-s", number,
                  target=f"127.0.0.1:{rtc_node.sip_port}")
    assert caller.wait(15) == 0, caller.output()
    call = _inbound(api, number)
    call = api.wait_status(call["id"], {"failed"})
    assert (call["end_reason"], call["sip_cause"]) == ("client_not_registered", 480)
    assert "call.client.unavailable" in api.event_types(call["id"])

    minted = api.ok(api.post("/v1/client_tokens", {"identity": identity}))

    async def decline() -> str:
        async with connect(f"{minted['register_url']}?token={minted['token']}") as ws:
            await ws.recv()  # registered
            declined = sipp("-sf", str(SCENARIOS / "uac_refused.xml"), "-s", number,
                            target=f"127.0.0.1:{rtc_node.sip_port}")
            incoming = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(json.dumps({"type": "reject", "call_id": incoming["call_id"]}))
            assert await asyncio.to_thread(declined.wait, 15) == 0, declined.output()
            return str(incoming["call_id"])

    call_id = asyncio.run(decline())
    call = api.wait_status(call_id, {"busy"})
    assert (call["end_reason"], call["sip_cause"]) == ("client_rejected", 486)


def test_a_registration_needs_a_client_token(api: Api, rtc_node: LocalNode) -> None:
    session = api.ok(api.post("/v1/sessions", {"connection_type": "webrtc"}))
    url = rtc_node.public_url + "/clients"

    async def attempt(token: str) -> int | None:
        async with connect(f"{url}?token={token}") as ws:
            with pytest.raises(ConnectionClosed):  # closed before any message
                await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code

    assert asyncio.run(attempt("not-a-token")) == 4401
    assert asyncio.run(attempt(session["token"])) == 4401  # a session's token is not one
    reply = httpx.post(f"{url.replace('ws://', 'http://')}/calls/call_x",
                       headers={"Authorization": "Bearer x", "Content-Type": "application/sdp"},
                       content=b"v=0")
    assert (reply.status_code, reply.json()["error"]["code"]) == (401, "invalid_token")


# -- DTMF and hold on a WebRTC leg ------------------------------------------------------------


def test_digits_both_ways_and_hold_on_a_webrtc_leg(api: Api, rtc_node: LocalNode) -> None:
    """The browser's keypad (data channel) is the call's call.dtmf.received; send_dtmf plays
    in-band tones (5 = 770 + 1336 Hz) to the browser; hold silences both ways."""
    session = api.ok(api.post("/v1/sessions", {"connection_type": "webrtc"}))
    call_id = session["call_id"]

    async def run() -> tuple[EventsClient, int, int]:
        client = EventsClient(session["connect_url"], session["token"])
        assert (await client.offer()).status_code == 201
        api.wait_status(call_id, {"in_progress"})
        channel = client.channel
        assert await _until(lambda: channel.readyState == "open", 5)
        channel.send(json.dumps({"type": "dtmf", "digits": "5#"}))
        channel.send("not json")  # counted and ignored
        start = len(client.heard.frames)
        api.ok(api.action(call_id, "send_dtmf", {"digits": "5"}))
        got = await _until(lambda: _dual(client.heard.frames[start:]) >= 3, 10)
        assert got, "no DTMF 5 reached the browser"
        api.ok(api.action(call_id, "hold"))
        assert await _until(lambda: "hold" in client.types(), 5), client.notes
        held_from = len(client.heard.frames)
        await asyncio.sleep(client.mic.say(tone(1000, 0.6)) + 0.2)
        api.ok(api.action(call_id, "send_dtmf", {"digits": "5"}))  # sent as silence: held
        await asyncio.sleep(0.6)
        silent = _dual(client.heard.frames[held_from:])
        api.ok(api.action(call_id, "unhold"))
        assert await _until(lambda: "unhold" in client.types(), 5), client.notes
        dual = _dual(client.heard.frames[start:held_from])
        await client.hang_up()
        return client, dual, silent

    _, dual, silent = asyncio.run(run())
    assert dual >= 3 and silent == 0, (dual, silent)
    done = api.wait_status(call_id, {"completed"})
    digits = [e["details"].get("digit") for e in api.events(call_id)
              if e["type"] == "call.dtmf.received"]
    assert digits == ["5", "#"], digits
    assert done["quality"]["bad_messages"] == 1 and done["quality"]["held_frames_in"] > 10


def _dual(frames: list[np.ndarray]) -> int:
    """Frames carrying DTMF 5's pair: both 770 and 1336 Hz strong, little else."""
    count = 0
    for frame in frames:
        x = frame.astype(np.float64)
        total = float(np.sum(x * x))
        if total < 1e6:
            continue
        n = np.arange(len(x))
        parts = [abs(np.sum(x * np.exp(-2j * np.pi * hz * n / RATE))) ** 2 * 2 / len(x)
                 for hz in (770, 1336)]
        count += min(parts) > 0.2 * total and sum(parts) > 0.6 * total
    return count
