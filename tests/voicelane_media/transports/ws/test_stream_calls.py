"""Media streams into a Voicelane agent, on real sockets: a provider peer (the ``websockets``
library, each dialect's provider side) against a loopback media node, sessions made through the API."""

from __future__ import annotations

import asyncio
import io
import json
import random
import shutil
import time
import wave
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from voicelane.container import get_container
from voicelane.domain.tokens import sign
from voicelane_local.media_node import LocalNode
from voicelane_local.stream_provider import StreamPeer
from voicelane_media.media.audio import synthesize

from tests.interop.sipp_helpers import Api
from tests.voicelane_media.transports.ws.conftest import CALLER_SAYS

pytestmark = pytest.mark.usefixtures("fake_engines")

AGENT = {"name": "ws-agent", "greeting": "Hello from Voicelane", "dtmf_events": "digits"}
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng not installed")


def _session(api: Api, connection_type: str = "twilio", **fields: Any) -> dict[str, Any]:
    body = {"connection_type": connection_type, "agent": AGENT, **fields}
    session: dict[str, Any] = api.ok(api.post("/v1/sessions", body))
    return session


def _wait_final(api: Api, call_id: str, timeout_s: float = 20) -> dict[str, Any]:
    return api.wait_status(call_id, {"completed", "failed", "canceled"}, timeout_s)


def _wait_event(api: Api, call_id: str, event_type: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while event_type not in api.event_types(call_id):
        assert time.monotonic() < deadline, f"no {event_type}: {api.event_types(call_id)}"
        time.sleep(0.2)


@needs_espeak
@pytest.mark.parametrize(("connection_type", "rate"), [
    ("twilio", 8000), ("telnyx", 8000), ("plivo", 8000), ("websocket", 16000),
    ("websocket", 48000)])
def test_a_stream_runs_an_agent_call_to_its_end(api: Api, ws_node: LocalNode,
                                                connection_type: str, rate: int) -> None:
    session = _session(api, connection_type,
                       **({"sample_rate": rate} if connection_type == "websocket" else {}))
    assert session["connect_url"].startswith(ws_node.public_url)
    instructions = session["instructions"]
    if connection_type == "twilio":  # no query string: the token rides in the start
        assert "<Parameter name=\"token\"" in instructions["twiml"]

    async def caller() -> StreamPeer:
        speech = await synthesize(CALLER_SAYS, "en-us", rate)
        token = session["token"] if connection_type == "twilio" else None
        async with StreamPeer(instructions["url"], connection_type, sample_rate=rate,
                              token=token) as peer:
            await peer.begin()
            await peer.silence(2500)  # the greeting plays
            await peer.stream(speech)
            await peer.silence(2500)  # the agent answers
            await peer.dtmf("5")
            await peer.silence(600)
            await peer.stop()
            await peer.closed(5)
        return peer

    peer = asyncio.run(caller())
    call = _wait_final(api, session["call_id"])
    assert call["status"] == "completed" and call["end_reason"] == "hangup_by_caller"
    types = api.event_types(session["call_id"])
    assert types[:3] == ["call.queued", "call.initiated", "call.answered"]
    assert types[-1] == "call.completed"
    dtmf = [e for e in api.events(session["call_id"]) if e["type"] == "call.dtmf.received"]
    assert [e["details"].get("digit") for e in dtmf] == ["5"]
    # the greeting came back as media followed by a mark, and the marks were echoed
    heard = peer.heard
    assert heard.media_frames > 25 and heard.marks_after_media >= 1 and not heard.unparsed
    assert heard.echoed and set(heard.echoed) <= set(heard.marks)
    voiced = [f for f in heard.audio if np.abs(f.astype(np.int32)).mean() > 300]
    assert len(voiced) > 10
    quality = call["quality"]
    assert quality["dialect"] == connection_type and quality["sample_rate"] == rate
    assert quality["frames_in"] > 200 and quality["bad_messages"] == 0
    assert quality["marks_sent"] >= 1 and quality["marks_acked"] >= 1
    transcript = api.ok(api.get(f"/v1/calls/{session['call_id']}/transcript"))
    roles = [turn["role"] for turn in transcript["turns"]]
    assert "agent" in roles and "caller" in roles
    assert call["metrics"] and transcript["metrics"]  # per-turn figures, as on a phone call


def _refused(url: str, token: str | None, *, query: bool = False) -> tuple[int | None, str | None,
                                                                          int]:
    async def run() -> tuple[int | None, str | None, int]:
        target = f"{url}?token={token}" if query and token else url
        async with StreamPeer(target, token=None if query else token) as peer:
            await peer.begin()
            await peer.closed(5)
        return peer.heard.close_code, peer.heard.close_reason, peer.heard.media_frames

    return asyncio.run(run())


def test_a_wrong_expired_or_reused_token_is_refused_before_audio(
        api: Api, ws_node: LocalNode) -> None:
    session = _session(api)
    other = _session(api)
    url = session["connect_url"]
    assert _refused(url, None) == (4401, "token_required", 0)
    assert _refused(url, "not-a-token") == (4401, "invalid_token", 0)
    assert _refused(url, other["token"]) == (4403, "token_not_for_this_session", 0)
    secret = ws_node.gateway.settings.session_token_secret
    claims = {"sid": session["id"], "call_id": session["call_id"], "app_id": api.app_id,
              "ct": "twilio", "sr": None}
    expired = sign(claims, secret, -10)
    assert _refused(url, expired) == (4401, "token_expired", 0)
    forged_app = sign({**claims, "app_id": "app_someone_else"}, secret, 60)
    assert _refused(url, forged_app) == (4409, "session_not_available", 0)
    assert api.call(session["call_id"])["status"] == "queued"  # nothing claimed it

    async def connect_then_hang_up() -> None:
        async with StreamPeer(url, token=session["token"]) as peer:
            await peer.begin()
            await peer.silence(400)

    asyncio.run(connect_then_hang_up())
    assert _refused(url, session["token"]) == (4409, "session_not_available", 0)  # reused
    assert _wait_final(api, session["call_id"])["status"] == "completed"


@pytest.mark.parametrize(("bad", "code", "reason"), [
    (b"\x00\x01binary", 1003, "binary_not_expected"),
    ("x" * (70 * 1024), 1009, None),  # over the node's ws_max_message_bytes
])
def test_fatal_bad_input_closes_with_a_reason_and_the_call_ends(
        api: Api, ws_node: LocalNode, bad: str | bytes, code: int, reason: str | None) -> None:
    session = _session(api)

    async def run() -> StreamPeer:
        async with StreamPeer(session["connect_url"], token=session["token"]) as peer:
            await peer.begin()
            await peer.silence(300)
            await peer.send(bad)
            await peer.closed(5)
        return peer

    peer = asyncio.run(run())
    assert peer.heard.close_code == code
    if reason is not None:
        assert peer.heard.close_reason == reason
    call = _wait_final(api, session["call_id"])
    assert call["status"] == "completed"
    assert call["end_reason"] in ("stream_protocol_error", "hangup_by_caller")
    if reason is not None:
        assert call["end_reason"] == "stream_protocol_error"


def test_malformed_and_unknown_messages_are_counted_drops(api: Api, ws_node: LocalNode) -> None:
    session = _session(api)

    async def run() -> StreamPeer:
        async with StreamPeer(session["connect_url"], token=session["token"]) as peer:
            await peer.begin()
            await peer.silence(200)
            for message in ("{not json", "[1, 2]", '{"event": "wat"}', '{"event": "media"}'):
                await peer.send(message)
            await peer.silence(400)  # still streaming: nothing closed
            await peer.stop()
            await peer.closed(5)
        return peer

    peer = asyncio.run(run())
    call = _wait_final(api, session["call_id"])
    assert call["status"] == "completed" and call["end_reason"] == "hangup_by_caller"
    assert call["quality"]["bad_messages"] == 4 and peer.heard.close_code == 1000


def test_an_unclaimed_session_expires_and_frees_its_slot(api: Api, ws_node: LocalNode) -> None:
    session = _session(api)
    app_before = api.ok(api.get("/v1/calls", params={"status": "queued"}))
    assert any(c["id"] == session["call_id"] for c in app_before["data"])
    # what the node-sweeper function (a runner job locally) does once the token lifetime is over
    ended = get_container().sessions.expire_due(datetime.now(UTC) + timedelta(seconds=301))
    assert session["call_id"] in ended
    call = api.call(session["call_id"])
    assert call["status"] == "failed" and call["end_reason"] == "session_expired"
    assert _refused(session["connect_url"], session["token"])[0] == 4409
    assert session["call_id"] not in [
        c["id"] for c in api.ok(api.get("/v1/calls", params={"status": "queued"}))["data"]]


@needs_espeak
def test_barge_in_sends_clear_and_heard_text_follows_the_mark_echoes(
        api: Api, ws_node: LocalNode) -> None:
    greeting = " ".join(["Welcome to the booking line, I can help you with a table."] * 3)
    session = api.ok(api.post("/v1/sessions", {
        "connection_type": "twilio", "agent": {**AGENT, "greeting": greeting}}))

    async def caller() -> StreamPeer:
        speech = await synthesize(CALLER_SAYS, "en-us", 8000)
        async with StreamPeer(session["connect_url"], token=session["token"]) as peer:
            await peer.begin()
            await peer.silence(1500)  # part of the greeting plays
            await peer.stream(speech)  # the caller talks over it
            await peer.silence(2000)
            await peer.stop()
            await peer.closed(5)
        return peer

    peer = asyncio.run(caller())
    assert _wait_final(api, session["call_id"])["status"] == "completed"
    assert peer.heard.clears >= 1  # the dialect's clear, at the barge-in
    transcript = api.ok(api.get(f"/v1/calls/{session['call_id']}/transcript"))
    first = transcript["turns"][0]
    assert first["role"] == "agent" and first["interrupted"] is True
    heard = first["heard_text"]
    assert heard and greeting.startswith(heard.rstrip(".… ")) and len(heard) < len(greeting) / 2


def test_live_commands_on_a_stream(api: Api, ws_node: LocalNode) -> None:
    """speak plays on the stream (media then a mark), hold fails with a clear error event, a
    transfer (a stream has no REFER) dials the target as a leg of the call (refused here: its
    own record says so), the stream's digits reach gather, hangup closes the socket; the call ends
    completed, hangup_by_api."""
    session = api.ok(api.post("/v1/sessions", {"connection_type": "twilio"}))  # no agent
    call_id = session["call_id"]

    async def caller() -> StreamPeer:
        async with StreamPeer(session["connect_url"], token=session["token"]) as peer:
            await peer.begin()
            await peer.silence(600)
            await asyncio.to_thread(_commands)
            await peer.silence(2500)
            await asyncio.to_thread(api.ok, api.post(f"/v1/calls/{call_id}/actions/gather",
                                                     {"max_digits": 2, "timeout_s": 5}))
            await peer.silence(300)
            for digit in "42":
                await peer.dtmf(digit)
                await peer.silence(100)
            await asyncio.to_thread(_wait_event, api, call_id, "call.gather.ended")
            await asyncio.to_thread(
                api.ok, api.post(f"/v1/calls/{call_id}/actions/hangup", {}))
            await peer.closed(5)
        return peer

    def _commands() -> None:
        _wait_event(api, call_id, "call.answered")
        for action, body in (("speak", {"text": "One moment please"}), ("hold", {}),
                             ("transfer", {"to": "sip:desk@127.0.0.1:1;transport=tcp"})):
            api.ok(api.post(f"/v1/calls/{call_id}/actions/{action}", body))

    peer = asyncio.run(caller())
    call = _wait_final(api, call_id)
    assert call["status"] == "completed" and call["end_reason"] == "hangup_by_api"
    assert peer.heard.close_code == 1000 and peer.heard.close_reason == "hangup_by_api"
    assert peer.heard.media_frames > 20 and peer.heard.marks_after_media >= 1
    events = {e["type"]: e["details"] for e in api.events(call_id)}
    assert events["call.speak.ended"]["status"] == "completed"
    assert events["call.hold.failed"]["error"] == "not_supported"
    failed = events["call.transfer.failed"]
    assert failed["reason"] == "trunk_failure" and failed.get("refer_status") is None, failed
    leg = api.ok(api.get(f"/v1/calls/{failed['target_call_id']}"))
    assert leg["parent_call_id"] == call_id and leg["leg_purpose"] == "transfer", leg
    assert leg["status"] == "failed" and leg["to"] == "sip:desk@127.0.0.1:1;transport=tcp"
    assert events["call.gather.ended"]["digits"] == "42"


def test_the_local_runner_expires_a_session_nobody_connects_to(
        api: Api, ws_node: LocalNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_container().settings, "session_token_ttl_s", 1)
    session = _session(api)
    # the runner's session-expiry job (every second) ends it: no one sweeps by hand here
    call = api.wait_status(session["call_id"], {"failed"}, timeout_s=10)
    assert call["end_reason"] == "session_expired"
    assert _refused(session["connect_url"], session["token"])[:2] == (4401, "token_expired")


def test_bad_input_before_the_start_is_refused_and_claims_nothing(
        api: Api, ws_node: LocalNode) -> None:
    session = _session(api)
    alaw_start = json.dumps({"event": "start", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "callSid": "CA1", "customParameters": {"token": session["token"]},
        "mediaFormat": {"encoding": "audio/x-alaw", "sampleRate": 8000, "channels": 1}}})

    async def send(messages: list[str | bytes]) -> tuple[int | None, str | None]:
        async with StreamPeer(session["connect_url"]) as peer:
            for message in messages:
                await peer.send(message)
            await peer.closed(12)
        return peer.heard.close_code, peer.heard.close_reason

    assert asyncio.run(send([alaw_start])) == (1003, "wrong_codec")
    assert asyncio.run(send([b"\x00" * 160])) == (1003, "binary_not_expected")
    assert asyncio.run(send(['{"event": "dtmf", "dtmf": {"digit": "1"}}'])) == (
        4400, "start_expected")
    assert api.call(session["call_id"])["status"] == "queued"


def test_a_flood_of_garbage_closes_the_stream_and_the_node_carries_on(
        api: Api, ws_node: LocalNode) -> None:
    session = _session(api)
    rng = random.Random(7)
    garbage = [json.dumps({"event": rng.choice(["media", "mark", "dtmf", "start", "x"]),
                           "media": rng.choice([None, 1, "a", {"payload": "%%%"}]),
                           "dtmf": {"digit": rng.choice(["Z", "", 5])}})
               for _ in range(80)]

    async def run() -> tuple[int | None, str | None]:
        async with StreamPeer(session["connect_url"], token=session["token"]) as peer:
            await peer.begin()
            await peer.silence(200)
            for message in garbage:
                await peer.send(message)
            await peer.closed(5)
        return peer.heard.close_code, peer.heard.close_reason

    assert asyncio.run(run()) == (1008, "too_many_bad_messages")
    call = _wait_final(api, session["call_id"])
    assert call["status"] == "completed" and call["end_reason"] == "stream_protocol_error"
    # the node still takes the next stream
    test_malformed_and_unknown_messages_are_counted_drops(api, ws_node)


def test_a_full_node_refuses_a_stream_without_claiming_its_session(
        api: Api, ws_node: LocalNode) -> None:
    manager = ws_node.node.manager if ws_node.node else None
    assert manager is not None
    busy = _session(api)
    waiting = _session(api)
    limit = manager.settings.capacity
    manager.settings.capacity = 1  # one call fills the node

    async def run() -> tuple[int | None, str | None]:
        async with StreamPeer(busy["connect_url"], token=busy["token"]) as first:
            await first.begin()
            await first.silence(400)
            async with StreamPeer(waiting["connect_url"], token=waiting["token"]) as second:
                await second.closed(5)  # refused at once, before it could send anything
            await first.stop()
            await first.closed(5)
        return second.heard.close_code, second.heard.close_reason

    try:
        assert asyncio.run(run()) == (1013, "node_unavailable")
    finally:
        manager.settings.capacity = limit
    assert api.call(waiting["call_id"])["status"] == "queued"  # still connectable elsewhere
    assert _wait_final(api, busy["call_id"])["status"] == "completed"


@needs_espeak
def test_a_recorded_stream_call_keeps_both_channels(api: Api, ws_node: LocalNode) -> None:
    session = _session(api, recording=True)

    async def caller() -> None:
        speech = await synthesize(CALLER_SAYS, "en-us", 8000)
        async with StreamPeer(session["connect_url"], token=session["token"]) as peer:
            await peer.begin()
            await peer.silence(2500)  # the greeting
            await peer.stream(speech)
            await peer.silence(500)
            await peer.stop()
            await peer.closed(5)

    asyncio.run(caller())
    assert _wait_final(api, session["call_id"])["status"] == "completed"
    _wait_event(api, session["call_id"], "call.recording.saved")
    meta = api.ok(api.get(f"/v1/calls/{session['call_id']}/recording"))
    assert meta["channels"] == 2 and meta["sample_rate"] == 8000
    assert 3.0 < float(meta["duration_s"]) < 12.0
    wav = get_container().media_gateway.read_object(meta["s3_key"], 10_000_000)
    with wave.open(io.BytesIO(wav)) as reader:
        assert reader.getnchannels() == 2 and reader.getframerate() == 8000
        frames = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    caller_side, platform_side = frames[0::2], frames[1::2]
    assert np.abs(caller_side.astype(np.int32)).mean() > 50  # the caller's speech
    assert np.abs(platform_side.astype(np.int32)).mean() > 50  # the agent's greeting

