"""Voicelane streaming calls to customers' bots (the "out" direction), on real sockets: a
simulated phone answers an outbound call over SIP/RTP, the media node plays the provider's
side of a dialect toward a bot on loopback (``bot_server.StreamBot``), and the tests check what
the phone heard, what the bot received, and the call's events, as an app would."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from voicelane_local.media_node import LocalNode
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.media.audio import synthesize
from voicelane_media.sim import CallerLine, PhoneReport, PhoneThread
from voicelane_media.sim.voice import level_dbfs

from tests.interop.sipp_helpers import Api, new_number
from tests.voicelane_media.transports.ws.bot_server import StreamBot

pytestmark = [pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                 reason="espeak-ng not installed"),
              pytest.mark.usefixtures("fake_engines")]

GREETING = ("Hello, you have reached the order line of the example shop. I am a bot that "
            "speaks over a media stream, and I will keep talking until you interrupt me.")
FINAL = {"completed", "failed", "busy", "no_answer", "canceled"}


@pytest.fixture(scope="module")
def greeting_8k() -> Int16Array:
    return asyncio.run(synthesize(GREETING, "en-us", 8000))


@pytest.fixture(scope="module")
def greeting_16k() -> Int16Array:
    return asyncio.run(synthesize(GREETING, "en-us", 16000))


@contextlib.contextmanager
def _phone(lines: list[CallerLine], hangup_wait_s: float = 2) -> Iterator[PhoneThread]:
    phone = PhoneThread(lines, voice="espeak", wait_s=15, hangup_wait_s=hangup_wait_s).start()
    try:
        yield phone
    finally:
        phone.stop()


def _call_phone(api: Api, phone: PhoneThread, stream: dict[str, Any] | None,
                **fields: Any) -> str:
    api.ok(api.post("/v1/trunks", {"name": "phone", "host": "127.0.0.1", "port": phone.port,
                                   "transport": "udp"}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    body: dict[str, Any] = {"from": number, "to": "+14155550199", **fields}
    if stream is not None:
        body["stream"] = stream
    return str(api.ok(api.post("/v1/calls", body))["id"])


def voiced_s(pcm: Int16Array, rate: int) -> float:
    """Seconds of 20 ms frames above the phone's speech threshold (-42 dBFS)."""
    step = rate // 50
    frames = [pcm[i:i + step] for i in range(0, len(pcm) - step + 1, step)]
    return sum(0.02 for f in frames if level_dbfs(f) > -42.0)


def _heard_voiced_s(report: PhoneReport) -> float:
    assert report.heard is not None and report.spans, "the phone heard nothing"
    return voiced_s(report.heard, 8000)


def test_a_twilio_bot_greets_the_phone_hears_the_caller_and_clears_on_barge_in(
        api: Api, ws_node: LocalNode, greeting_8k: Int16Array) -> None:
    greeting_voiced = voiced_s(greeting_8k, 8000)
    with StreamBot("twilio", greeting_8k) as bot:
        with _phone([CallerLine("Hi, I need help with my order please",
                                       when="barge_in", barge_after_ms=1500)]) as phone:
            call_id = _call_phone(api, phone, {"url": bot.url, "dialect": "twilio",
                                               "custom_parameters": {"customer": "c-42"}})
            report = phone.wait(60)
        call = api.wait_status(call_id, FINAL, 20)
        bot.wait_for(lambda: bot.connections and bot.connections[0].closed_at is not None)
    conn = bot.connections[0]
    # Twilio's opening, with what the app asked for
    assert conn.kinds[:2] == ["StreamConnected", "StreamStart"]
    assert conn.start is not None
    assert conn.start.custom_parameters == {"customer": "c-42"}
    assert conn.start.call_ref == call_id and conn.start.stream_id.startswith("MZ")
    assert (conn.start.encoding, conn.start.sample_rate, conn.start.tracks) == (
        "pcmu", 8000, ("inbound",))
    # the bot heard the caller speak, and cleared its greeting
    assert conn.loud_at is not None and conn.clear_sent_at is not None
    # the phone heard the greeting start, and stop well before its end
    assert 0.5 < _heard_voiced_s(report) < greeting_voiced - 1.5
    line = report.lines[0]
    assert line.agent_stop_ms is not None
    # a clear drops the audio before the pending mark: the mark is echoed then, not later
    assert "greeting" in conn.mark_echoes
    assert conn.mark_echoes["greeting"] >= conn.clear_sent_at
    # the phone hung up: the bot got Twilio's stop, the call completed
    assert conn.stop_received
    assert call["status"] == "completed"
    events = {e["type"]: e for e in api.events(call_id)}
    started = events["call.streaming.started"]["details"]
    assert started["dialect"] == "twilio" and started["bidirectional"] is True
    assert "secret" not in started["url"]  # the bot's token in the query is not an event's
    stopped = events["call.streaming.stopped"]["details"]
    assert stopped["reason"] == "call_ended" and stopped["stream_id"] == conn.start.stream_id
    assert stopped["sent_media"] > 50 and stopped["received_media"] > 50
    # the clear is counted, with the bot's audio it dropped (sent in one burst: most of it)
    assert stopped["clears"] == 1 and stopped["cleared_ms"] > 2000, stopped


@pytest.mark.parametrize("dialect", ["twilio", "telnyx", "plivo", "websocket"])
def test_each_dialect_plays_the_bot_and_echoes_its_mark_once_played(
        api: Api, ws_node: LocalNode, greeting_8k: Int16Array, greeting_16k: Int16Array,
        dialect: str) -> None:
    rate = 16000 if dialect == "websocket" else 8000
    # 3 s of the greeting shows the whole playout and the mark; each dialect's call stays short
    greeting = (greeting_16k if rate == 16000 else greeting_8k)[: rate * 3]
    greeting_s = len(greeting) / rate
    greeting_voiced = voiced_s(greeting, rate)
    with StreamBot(dialect, greeting, rate=rate,
                   sample_rate=rate if dialect == "websocket" else None,
                   clear_on_speech=False) as bot:
        with _phone([CallerLine("Thank you, goodbye")]) as phone:
            stream: dict[str, Any] = {"url": bot.url, "dialect": dialect}
            if dialect == "websocket":
                stream["sample_rate"] = rate
            call_id = _call_phone(api, phone, stream)
            report = phone.wait(60)
        api.wait_status(call_id, FINAL, 20)
        bot.wait_for(lambda: bot.connections and bot.connections[0].closed_at is not None)
    conn = bot.connections[0]
    assert conn.start is not None and conn.start.sample_rate == rate
    # the whole greeting reached the phone (G.711 and resampling keep the speech frames)
    assert _heard_voiced_s(report) > 0.9 * greeting_voiced
    # sent in one burst, the mark comes back only once the caller has heard it all
    assert conn.greeting_sent_at is not None
    assert conn.mark_echoes["greeting"] - conn.greeting_sent_at > greeting_s - 0.5
    # the caller's answer reached the bot
    assert conn.loud_at is not None and conn.loud_at > conn.mark_echoes["greeting"]
    assert conn.stop_received


def test_a_dropped_bot_is_reconnected_with_a_fresh_start(
        api: Api, ws_node: LocalNode, greeting_8k: Int16Array) -> None:
    with StreamBot("twilio", greeting_8k[: 8000 * 2], drop_first=True,
                   clear_on_speech=False) as bot:
        with _phone([CallerLine("Are you still there?")]) as phone:
            call_id = _call_phone(api, phone, {"url": bot.url})
            report = phone.wait(60)
        call = api.wait_status(call_id, FINAL, 20)
        bot.wait_for(lambda: len(bot.connections) >= 2
                     and bot.connections[1].closed_at is not None)
    second = bot.connections[1]
    assert second.kinds[:2] == ["StreamConnected", "StreamStart"]
    assert second.start is not None
    assert second.start.stream_id == bot.connections[0].start.stream_id  # type: ignore[union-attr]
    assert report.spans and second.mark_echoes.get("greeting") is not None
    assert call["status"] == "completed"
    types = api.event_types(call_id)
    assert types.count("call.streaming.started") == 1
    assert "call.streaming.failed" not in types


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_bot_fails_the_stream_and_ends_the_call(api: Api,
                                                               ws_node: LocalNode) -> None:
    with _phone([], hangup_wait_s=15) as phone:
        call_id = _call_phone(api, phone, {"url": f"ws://127.0.0.1:{_closed_port()}/bot"})
        call = api.wait_status(call_id, FINAL, 30)
    failed = api.wait_event(call_id, "call.streaming.failed")["details"]
    assert failed["reason"] == "connect_failed" and failed["attempts"] == 3
    assert call["status"] == "completed" and call["end_reason"] == "stream_failed"


def test_a_one_way_fork_beside_an_agent_hears_both_tracks_and_stops_on_command(
        api: Api, ws_node: LocalNode, greeting_8k: Int16Array) -> None:
    agent = api.ok(api.post("/v1/agents", {"name": "forked", "greeting":
                                           "Hello, this is the agent speaking to you now"}))
    with StreamBot("twilio", greeting_8k[: 8000], clear_on_speech=False) as bot:
        with _phone([CallerLine("I would like to book a table")]) as phone:
            call_id = _call_phone(api, phone, None, agent_id=agent["id"])
            api.wait_status(call_id, {"in_progress"}, 20)
            refused = api.action(call_id, "stream_start", {"url": bot.url})
            assert refused.status_code == 422
            assert refused.json()["error"]["code"] == "stream_agent_conflict"
            api.ok(api.action(call_id, "stream_start", {
                "url": bot.url, "bidirectional": False, "tracks": "both"}))
            bot.wait_for(lambda: bot.connections and bot.connections[0].loud_at is not None)
            api.ok(api.action(call_id, "stream_stop", {}))
            stopped = api.wait_event(call_id, "call.streaming.stopped")["details"]
            phone.wait(60)
        api.wait_status(call_id, FINAL, 20)
    conn = bot.connections[0]
    assert conn.start is not None and conn.start.tracks == ("inbound", "outbound")
    # the outbound track carries what the agent says to the caller
    outbound = conn.caller_audio("outbound")
    assert len(outbound) and float(np.abs(outbound.astype(np.int32)).max()) > 2000
    assert conn.stop_received
    assert stopped["reason"] == "stream_stop"
    assert stopped["dropped_media"] > 0  # the bot's greeting: a listen-only fork plays nothing
    assert api.action(call_id, "stream_stop", {}).status_code in (409, 404)


def test_stream_urls_pass_the_ssrf_guard_and_numbers_keep_their_stream(
        api: Api, local_platform: Any) -> None:
    container = local_platform.container
    strict = container.apps.create_app("strict", destination_allow_list=["*"])
    _, key = container.apps.create_key(strict.app_id, "test")
    client = api.client
    headers = {"Authorization": f"Bearer {key}"}
    number = new_number()
    for path, body in (
            ("/v1/numbers", {"number": number, "stream": {"url": "wss://127.0.0.1/bot"}}),
            ("/v1/numbers", {"number": number, "stream": {"url": "ws://bot.example.com/x"}})):
        resp = client.post(path, json=body, headers=headers)
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["code"] == "stream_url_not_allowed"
    assert client.get(f"/v1/numbers/{number}", headers=headers).status_code == 404
    bad = client.post("/v1/numbers", json={"number": number, "stream": {
        "url": "ws://127.0.0.1/b", "tracks": "both"}}, headers=headers)
    assert bad.status_code == 422
    routed = api.ok(api.post("/v1/numbers", {"number": number, "stream": {
        "url": "ws://127.0.0.1:9/bot", "dialect": "telnyx", "custom_parameters": {"a": "1"}}}))
    assert routed["stream"]["dialect"] == "telnyx"
    assert api.ok(api.get(f"/v1/numbers/{number}"))["stream"]["custom_parameters"] == {"a": "1"}


@pytest.mark.parametrize(("on_failure", "end_reason"), [
    (None, "stream_ended"),  # Twilio's <Connect><Stream> with nothing after it
    ("continue", "hangup_by_callee")])  # the phone hangs up after 8 s
def test_a_bot_that_closes_cleanly_ends_a_bidirectional_call_unless_told_to_continue(
        api: Api, ws_node: LocalNode, greeting_8k: Int16Array, on_failure: str | None,
        end_reason: str) -> None:
    with StreamBot("twilio", greeting_8k[: 8000], close_after_greeting=True,
                   clear_on_speech=False) as bot, _phone([], hangup_wait_s=8) as phone:
        stream: dict[str, Any] = {"url": bot.url}
        if on_failure:
            stream["on_failure"] = on_failure
        call_id = _call_phone(api, phone, stream)
        stopped = api.wait_event(call_id, "call.streaming.stopped", 20)["details"]
        call = api.wait_status(call_id, FINAL, 20)
    assert stopped["reason"] == "bot_closed"
    assert call["end_reason"] == end_reason
