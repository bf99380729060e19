"""A browser-like WebRTC peer (aiortc, the library) calls a Voicelane agent through a session:
the real signalling endpoint, ICE on loopback, DTLS-SRTP, Opus 48 kHz, and the local engines
(Whisper hears the espeak-ng speech). Everything is asserted through the API."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from voicelane.container import get_container
from voicelane.domain.agent import AgentSpec
from voicelane.domain.tokens import sign
from voicelane_local.media_node import LocalNode
from voicelane_media.agent.engines import build_engines
from voicelane_media.media.audio import synthesize

from tests.interop.sipp_helpers import Api
from tests.voicelane_media.transports.webrtc.peer import Client

AGENT = {"name": "rtc-agent", "greeting": "Hello from Voicelane, how can I help you today?"}
SAYS = "I would like to book a table for two people tomorrow"
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng not installed")


def _session(api: Api, **fields: Any) -> dict[str, Any]:
    session: dict[str, Any] = api.ok(api.post("/v1/sessions", {
        "connection_type": "webrtc", "agent": AGENT, **fields}))
    return session


@pytest.fixture(scope="module")
def warm_engines() -> None:
    """Load the local models once, so the call's figures are the call's, not a model load."""
    build_engines(AgentSpec(name="warm"))


@needs_espeak
@pytest.mark.usefixtures("warm_engines")
def test_a_webrtc_peer_talks_to_an_agent_and_hangs_up_with_delete(
        api: Api, rtc_node: LocalNode) -> None:
    session = _session(api, recording=True)
    base = rtc_node.public_url.replace("ws://", "http://")
    assert session["connect_url"] == f"{base}/webrtc/{session['id']}"
    assert session["ice_servers"] == [] and session["token"]
    call = api.call(session["call_id"])
    assert (call["status"], call["from_channel"], call["to_channel"]) == (
        "queued", "webrtc", "webrtc")

    async def talk() -> tuple[Client, int]:
        speech = await synthesize(SAYS, "en-us", 48000)
        client = Client(session["connect_url"], session["token"])
        reply = await client.offer()
        assert reply.status_code == 201, reply.text
        assert reply.headers["content-type"].startswith("application/sdp")
        assert await client.heard.utterance(0, timeout_s=10), "no greeting heard"
        await asyncio.sleep(client.mic.say(speech))
        assert await client.heard.utterance(len(client.heard.frames), timeout_s=10,
                                            quiet_ms=0), "the agent did not answer"
        deleted = await client.hang_up()
        return client, deleted.status_code

    client, deleted = asyncio.run(talk())
    assert deleted == 200
    call = api.wait_status(session["call_id"], {"completed", "failed"}, timeout_s=10)
    assert call["status"] == "completed" and call["end_reason"] == "hangup_by_caller"
    types = api.event_types(session["call_id"])
    assert types[:3] == ["call.queued", "call.initiated", "call.answered"], types
    assert types[-1] == "call.completed", types
    # the agent's greeting reached the peer as voiced Opus audio
    assert client.heard.first_voiced_at is not None and client.heard.voiced_frames > 25
    greeting_ms = (client.heard.first_voiced_at - (client.answered_at or 0)) * 1000
    print(f"\nwebrtc: offer->answer {client.answer_ms:.0f} ms, "
          f"answer->first greeting audio {greeting_ms:.0f} ms")
    quality = call["quality"]
    assert quality["transport"] == "webrtc" and quality["codec"] == "opus"
    assert quality["frames_in"] > 200 and quality["end_cause"] == "delete"
    transcript = api.ok(api.get(f"/v1/calls/{session['call_id']}/transcript"))
    caller_text = " ".join(t["text"] for t in transcript["turns"] if t["role"] == "caller")
    words = {w.strip(".,!?").lower() for w in caller_text.split()}
    assert {"table", "two", "tomorrow"} <= words, transcript["turns"]
    assert any(t["role"] == "agent" for t in transcript["turns"])
    assert call["metrics"]
    recording = api.wait_event(session["call_id"], "call.recording.saved", timeout_s=10)
    assert recording["details"]
    meta = api.ok(api.get(f"/v1/calls/{session['call_id']}/recording"))
    assert meta["channels"] == 2 and meta["sample_rate"] == 48000


def test_bad_tokens_are_refused_before_any_media_and_claim_nothing(
        api: Api, rtc_node: LocalNode) -> None:
    session = _session(api)
    other = _session(api)
    stream = api.ok(api.post("/v1/sessions", {"connection_type": "websocket"}))
    secret = rtc_node.gateway.settings.session_token_secret
    claims = {"sid": session["id"], "call_id": session["call_id"], "app_id": api.app_id,
              "ct": "webrtc", "sr": None}

    async def attempts() -> list[tuple[int, str]]:
        client = Client(session["connect_url"], session["token"])
        offer = await client.local_offer()
        out = []
        for token in (None, "not-a-token", sign(claims, secret, -10), other["token"],
                      stream["token"]):
            reply = await client.post(offer, token)
            out.append((reply.status_code, reply.json()["error"]["code"]))
        await client.close()
        return out

    assert asyncio.run(attempts()) == [
        (401, "token_required"), (401, "invalid_token"), (401, "token_expired"),
        (403, "token_not_for_this_session"), (403, "token_not_for_this_session")]
    assert api.call(session["call_id"])["status"] == "queued"  # nothing claimed it
    assert api.event_types(session["call_id"]) == ["call.queued"]


def test_malformed_offers_are_refused_with_a_code_and_claim_nothing(
        api: Api, rtc_node: LocalNode) -> None:
    session = _session(api)

    async def attempts() -> list[tuple[int, str]]:
        client = Client(session["connect_url"], session["token"])
        offer = await client.local_offer()
        no_opus = "\r\n".join(line for line in offer.split("\r\n")
                              if "opus" not in line.lower())
        no_dtls = "\r\n".join(line for line in offer.split("\r\n")
                              if not line.startswith("a=fingerprint:"))
        out = []
        for body, content_type in (("hello", "application/sdp"), (b"\xff\xfe", "application/sdp"),
                                   (offer, "application/json"), (no_opus, "application/sdp"),
                                   (no_dtls, "application/sdp"),
                                   ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", "application/sdp")):
            reply = await client.post(body, session["token"], content_type)
            out.append((reply.status_code, reply.json()["error"]["code"]))
        await client.close()
        return out

    assert asyncio.run(attempts()) == [
        (400, "malformed_sdp"), (400, "malformed_sdp"), (415, "unsupported_media_type"),
        (422, "no_common_codec"), (422, "not_webrtc"), (422, "no_audio")]
    assert api.call(session["call_id"])["status"] == "queued"
    assert api.event_types(session["call_id"]) == ["call.queued"]


def test_a_token_connects_once_and_a_reused_one_is_a_conflict(
        api: Api, rtc_node: LocalNode) -> None:
    session = _session(api, agent={"name": "quiet"})

    async def run() -> tuple[int, str, int]:
        first = Client(session["connect_url"], session["token"])
        assert (await first.offer()).status_code == 201
        second = Client(session["connect_url"], session["token"])
        again = await second.post(await second.local_offer(), session["token"])
        await second.close()
        await asyncio.sleep(0.5)
        await first.close()  # no DELETE: the closed connection alone is the hangup
        return again.status_code, again.json()["error"]["code"], 0

    status, code, _ = asyncio.run(run())
    assert (status, code) == (409, "session_not_available")
    call = api.wait_status(session["call_id"], {"completed", "failed"}, timeout_s=10)
    assert call["status"] == "completed" and call["end_reason"] == "hangup_by_caller"


def test_an_unknown_location_is_not_found(api: Api, rtc_node: LocalNode) -> None:
    import httpx

    session = _session(api)
    reply = httpx.delete(f"{session['connect_url']}/nope")
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "session_not_found"


def test_an_unclaimed_webrtc_session_expires_and_its_token_then_conflicts(
        api: Api, rtc_node: LocalNode) -> None:
    session = _session(api)
    # A sweep ends at most 100 sessions (the sweeper runs again); other tests leave theirs.
    later, ended = datetime.now(UTC) + timedelta(seconds=301), []
    while batch := get_container().sessions.expire_due(later):
        ended += batch
    assert session["call_id"] in ended
    call = api.call(session["call_id"])
    assert call["status"] == "failed" and call["end_reason"] == "session_expired"

    async def offer() -> tuple[int, str]:
        client = Client(session["connect_url"], session["token"])
        reply = await client.post(await client.local_offer(), session["token"])
        await client.close()
        return reply.status_code, reply.json()["error"]["code"]

    assert asyncio.run(offer()) == (409, "session_not_available")
    assert api.call(session["call_id"])["end_reason"] == "session_expired"


def test_a_peer_that_never_connects_fails_the_call(api: Api, rtc_node: LocalNode) -> None:
    session = _session(api)

    async def offer_and_vanish() -> int:
        client = Client(session["connect_url"], session["token"])
        reply = await client.post(await client.local_offer(), session["token"])
        await client.close()  # the answer is never applied: no ICE, no DTLS
        return reply.status_code

    assert asyncio.run(offer_and_vanish()) == 201
    call = api.wait_status(session["call_id"], {"completed", "failed"}, timeout_s=10)
    assert call["status"] == "failed" and call["end_reason"] == "webrtc_connect_failed"
    types = api.event_types(session["call_id"])
    assert "call.initiated" in types and "call.answered" not in types


@needs_espeak
@pytest.mark.usefixtures("warm_engines")
def test_barge_in_cuts_the_greeting_on_a_webrtc_leg(api: Api, rtc_node: LocalNode) -> None:
    greeting = " ".join(["Welcome to the booking line, I can help you with a table."] * 3)
    session = _session(api, agent={**AGENT, "greeting": greeting})

    async def talk_over() -> Client:
        speech = await synthesize(SAYS, "en-us", 48000)
        client = Client(session["connect_url"], session["token"])
        assert (await client.offer()).status_code == 201
        assert await client.heard.utterance(0, timeout_s=10, quiet_ms=0), "no greeting"
        await asyncio.sleep(1.5)  # part of the greeting plays
        await asyncio.sleep(client.mic.say(speech) + 1.0)  # the caller talks over it
        await client.hang_up()
        return client

    asyncio.run(talk_over())
    assert api.wait_status(session["call_id"], {"completed"}, timeout_s=10)
    transcript = api.ok(api.get(f"/v1/calls/{session['call_id']}/transcript"))
    first = transcript["turns"][0]
    assert first["role"] == "agent" and first["interrupted"] is True, transcript["turns"]
    heard = first["heard_text"]
    assert heard and greeting.startswith(heard.rstrip(".… ")) and len(heard) < len(greeting) / 2


def test_an_api_hangup_closes_the_peer_connection(api: Api, rtc_node: LocalNode) -> None:
    session = _session(api, agent={"name": "quiet"})

    async def run() -> str:
        client = Client(session["connect_url"], session["token"])
        assert (await client.offer()).status_code == 201
        await asyncio.to_thread(api.wait_event, session["call_id"], "call.answered", 5)
        await asyncio.to_thread(api.ok, api.post(
            f"/v1/calls/{session['call_id']}/actions/hangup", {}))
        for _ in range(100):  # the node's DTLS close reaches the peer
            if client.pc.connectionState in ("closed", "failed") or client.heard.ended:
                break
            await asyncio.sleep(0.05)
        state = "gone" if client.heard.ended or client.pc.connectionState != "connected" else (
            client.pc.connectionState)
        await client.close()
        return state

    assert asyncio.run(run()) == "gone"
    call = api.wait_status(session["call_id"], {"completed"}, timeout_s=10)
    assert call["end_reason"] == "hangup_by_api"


def test_a_full_node_refuses_an_offer_and_claims_nothing(api: Api, rtc_node: LocalNode) -> None:
    manager = rtc_node.node.manager if rtc_node.node else None
    assert manager is not None
    session = _session(api)
    limit = manager.settings.capacity
    manager.settings.capacity = manager.live_calls  # full

    async def offer() -> tuple[int, str]:
        client = Client(session["connect_url"], session["token"])
        reply = await client.post(await client.local_offer(), session["token"])
        await client.close()
        return reply.status_code, reply.json()["error"]["code"]

    try:
        assert asyncio.run(offer()) == (503, "node_unavailable")
    finally:
        manager.settings.capacity = limit
    assert api.call(session["call_id"])["status"] == "queued"


def test_the_softphone_page_and_cors_on_the_public_listener(
        api: Api, rtc_node: LocalNode) -> None:
    import httpx

    base = rtc_node.public_url.replace("ws://", "http://").removesuffix("/v1/media")
    page = httpx.get(f"{base}/softphone/")
    assert page.status_code == 200 and "RTCPeerConnection" in page.text
    session = _session(api)
    preflight = httpx.options(session["connect_url"], headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    refused = httpx.post(session["connect_url"], content=b"v=0",
                         headers={"Origin": "https://app.example.com"})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"
    assert "location" in refused.headers["access-control-expose-headers"].lower()


def test_without_an_agent_the_app_speaks_with_a_live_command(
        api: Api, rtc_node: LocalNode) -> None:
    session = api.ok(api.post("/v1/sessions", {"connection_type": "webrtc"}))

    async def run() -> Client:
        client = Client(session["connect_url"], session["token"])
        assert (await client.offer()).status_code == 201
        await asyncio.to_thread(api.wait_event, session["call_id"], "call.answered", 5)
        await asyncio.to_thread(api.ok, api.post(
            f"/v1/calls/{session['call_id']}/actions/speak", {"text": "One moment please"}))
        await asyncio.to_thread(api.wait_event, session["call_id"], "call.speak.ended", 10)
        await asyncio.sleep(0.3)  # the last frames in flight
        await client.hang_up()
        return client

    client = asyncio.run(run())
    assert client.heard.voiced_frames > 20  # the speech reached the peer
    events = {e["type"]: e["details"] for e in api.events(session["call_id"])}
    assert events["call.speak.ended"]["status"] == "completed"
    assert api.wait_status(session["call_id"], {"completed"}, timeout_s=10)
