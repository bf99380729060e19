"""A customer's Pipecat bot behind Voicelane's outbound media stream, as it runs behind Twilio.

The bot (``pipecat_bot.py``, its own process) is Pipecat's ``FastAPIWebsocketTransport`` with
``TwilioFrameSerializer``, Silero VAD and espeak-ng; nothing in it knows Voicelane. A simulated
phone (SIP + RTP, G.711 on loopback) answers a call the app places with ``stream: {url}``; the
media node plays Twilio's side toward the bot. The tests check what a user would: the phone
hears the bot's greeting, the bot hears (and Whisper transcribes) the caller, a barge-in makes
Pipecat send ``clear`` and the phone's playout stop at once, the call's events, and a clean
end whichever side hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest
from voicelane.domain.models import RateLimits
from voicelane_local.media_node import LocalNode
from voicelane_local.platform import LocalPlatform
from voicelane_media.codecs.resample import resample_pcm16
from voicelane_media.sim import CallerLine, PhoneReport, PhoneThread

from tests.interop.pipecat_process import PipecatBot
from tests.interop.sipp_helpers import Api, new_number
from tests.voicelane_media.transports.ws.test_bot_streams import voiced_s

pytestmark = [pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                 reason="espeak-ng not installed"),
              pytest.mark.timeout(90)]

FINAL = {"completed", "failed", "busy", "no_answer", "canceled"}
CALLER_SAYS = "Hi, I need help with my order please"
BARGE_IN_STOP_MS = 200  # clear sent by the bot -> last greeting audio the phone heard


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipecatBot]:
    with PipecatBot(tmp_path_factory.mktemp("pipecat")) as running:
        yield running


@pytest.fixture(scope="module")
def whisper() -> Any:
    from voicelane_media.agent.local_engines import WhisperSTT

    return WhisperSTT()


@contextlib.contextmanager
def _new_app(platform: LocalPlatform) -> Iterator[Api]:
    """An app of its own (its own trunk to its own phone) that may stream to loopback."""
    container = platform.container
    limits = RateLimits(create_call=1000, sessions=1000, reads=100_000, lists=100_000,
                        writes=100_000)
    app = container.apps.create_app("pipecat", destination_allow_list=["*"],
                                    allow_private_webhooks=True, rate_limits=limits)
    _, key = container.apps.create_key(app.app_id, "test")
    with httpx.Client(base_url=platform.api_url, timeout=15,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        yield Api(client, app.app_id)


@dataclass
class Outcome:
    """What the app and the phone saw of one call."""

    call_id: str
    call: dict[str, Any]
    events: list[dict[str, Any]]
    report: PhoneReport


def _run_call(platform: LocalPlatform, lines: list[CallerLine], hangup_wait_s: float,
              stream: dict[str, Any]) -> Outcome:
    phone = PhoneThread(lines, wait_s=15, hangup_wait_s=hangup_wait_s).start()
    try:
        with _new_app(platform) as api:
            api.ok(api.post("/v1/trunks", {"name": "phone", "host": "127.0.0.1",
                                           "port": phone.port, "transport": "udp"}))
            number = new_number()
            api.ok(api.post("/v1/numbers", {"number": number}))
            call_id = str(api.ok(api.post("/v1/calls", {
                "from": number, "to": "+14155550199", "stream": stream}))["id"])
            report = phone.wait(40)
            call = api.wait_status(call_id, FINAL, 20)
            api.wait_event(call_id, "call.streaming.stopped")
            return Outcome(call_id, call, api.events(call_id), report)
    finally:
        phone.stop()


@pytest.fixture(scope="module")
def outcomes(local_platform: LocalPlatform, media_node: LocalNode,
             bot: PipecatBot) -> dict[str, Any]:
    """Both calls at once (each test then checks its own): the runtime of one, not two."""
    scenarios = {
        "barge_in": ([CallerLine(CALLER_SAYS, when="barge_in", barge_after_ms=1500)], 2.5,
                     # out_rate: Pipecat's default 24 kHz pipeline, resampled per message
                     {"url": bot.url + "?tenant=t-1", "dialect": "twilio",
                      "custom_parameters": {"customer": "c-42", "out_rate": "24000"}}),
        "bot_hangs_up": ([CallerLine("", when="barge_in", barge_after_ms=600, dtmf="7"),
                          CallerLine("Yes, I would like to check my order")], 12,
                         {"url": bot.url, "custom_parameters": {"mode": "hangup"}}),
    }
    results: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
        futures = {name: pool.submit(_run_call, local_platform, *args)
                   for name, args in scenarios.items()}
        for name, future in futures.items():
            try:
                results[name] = future.result(timeout=80)
            except Exception as exc:  # each test reports its own scenario's failure
                results[name] = exc
    return results


def _outcome(outcomes: dict[str, Any], name: str) -> Outcome:
    result = outcomes[name]
    if isinstance(result, BaseException):
        raise result
    assert isinstance(result, Outcome)
    return result


def _transcribe(stt: Any, pcm8k: bytes) -> str:
    return str(stt.transcribe(resample_pcm16(pcm8k, 8000, 16000))).lower()


def _start_of(bot: PipecatBot, call_id: str) -> dict[str, Any]:
    events = bot.wait_for(lambda evs: any(e["event"] == "start" and e["call_sid"] == call_id
                                          for e in evs))
    return next(e for e in events if e["event"] == "start" and e["call_sid"] == call_id)


def _caller_audio(bot: PipecatBot, sid: str) -> bytes:
    with wave.open(str(bot.caller_wav(sid))) as wav:
        assert wav.getframerate() == 8000
        return wav.readframes(wav.getnframes())


def _heard(report: PhoneReport) -> np.ndarray[Any, np.dtype[np.int16]]:
    assert report.heard is not None and report.spans, "the phone heard nothing"
    heard: np.ndarray[Any, np.dtype[np.int16]] = report.heard
    return heard


def test_pipecat_greets_hears_the_caller_and_its_clear_stops_the_phone_at_once(
        outcomes: dict[str, Any], bot: PipecatBot, whisper: Any) -> None:
    out = _outcome(outcomes, "barge_in")
    call_id, call, report = out.call_id, out.call, out.report
    start = _start_of(bot, call_id)
    sid = start["sid"]
    mine = bot.wait_for(lambda evs: any(e["event"] == "ended" and e.get("sid") == sid
                                        for e in evs))
    mine = [e for e in mine if e.get("sid") == sid]
    kinds = [e["event"] for e in mine]

    # Pipecat's own parser read Twilio's start as Voicelane sent it
    assert start["transport"] == "twilio" and sid.startswith("MZ")
    assert start["custom_parameters"] == {"customer": "c-42", "out_rate": "24000"}
    assert start["query"] == {"tenant": "t-1"}  # the URL's query reaches the bot

    # the phone heard the greeting, and it was speech
    heard = _heard(report)
    assert voiced_s(heard, 8000) > 0.8, report.as_dict()
    said = _transcribe(whisper, heard.astype("<i2").tobytes())
    assert any(w in said for w in ("thank", "calling", "order", "shop")), said
    print(f"\nclick frames heard (20 ms frames ending in padding): {padding_clicks(heard)}")

    # the bot heard the caller: Silero's speech segments, and Whisper finds the words
    assert "caller_started" in kinds, kinds
    spoken_ms = sum(e["duration_ms"] for e in mine if e["event"] == "caller_stopped")
    assert 800 < spoken_ms < 4000, mine
    caller_words = _transcribe(whisper, _caller_audio(bot, sid))
    assert "order" in caller_words or "help" in caller_words, caller_words

    # barge-in: the caller spoke over the greeting, Pipecat sent clear, the phone went quiet
    first = next(e for e in mine if e["event"] == "caller_started")
    assert first["bot_speaking"] is True, mine
    clear_at = next(e["t"] for e in mine if e["event"] == "clear_sent")
    greeting = [s for s in report.spans if s[0] < clear_at]
    assert greeting, report.as_dict()
    stop_ms = max(0.0, (greeting[-1][1] - clear_at) * 1000)
    cleared = next(e["details"] for e in out.events if e["type"] == "call.streaming.stopped")
    print(f"\nbarge-in: clear -> phone quiet {stop_ms:.0f} ms; caller onset -> phone quiet "
          f"{report.lines[0].agent_stop_ms} ms; queued audio dropped {cleared['cleared_ms']} ms")
    assert stop_ms <= BARGE_IN_STOP_MS, (stop_ms, report.as_dict())
    assert not [s for s in report.spans if s[0] > clear_at + 0.1], report.as_dict()

    # the call, through the API: answered, streamed, completed by the phone's hang-up
    assert call["status"] == "completed" and call["end_reason"] == "hangup_by_callee", call
    assert report.hung_up_by == "phone"
    events = out.events
    types = [e["type"] for e in events]
    order = ["call.initiated", "call.answered", "call.streaming.started",
             "call.streaming.stopped", "call.completed"]
    assert [t for t in types if t in order] == order, types
    by_type = {e["type"]: e["details"] for e in events}
    assert by_type["call.streaming.started"]["dialect"] == "twilio"
    assert "tenant" not in by_type["call.streaming.started"]["url"]
    stopped = by_type["call.streaming.stopped"]
    assert stopped["reason"] == "call_ended" and stopped["stream_id"] == sid
    # (at 24 kHz Pipecat sends 137.5 ms per message)
    assert stopped["received_media"] > 8 and stopped["bad_messages"] == 0
    # Voicelane took Pipecat's clear; Pipecat paces its audio at about real time, so little of
    # it was still queued (a burst-sending bot's case is test_bot_streams')
    assert stopped["clears"] == 1, stopped
    assert "disconnected" in kinds  # the bot saw Twilio's stop / the close


def test_digits_reach_pipecat_and_the_bot_hangs_up_after_a_goodbye_the_phone_hears(
        outcomes: dict[str, Any], bot: PipecatBot, whisper: Any) -> None:
    out = _outcome(outcomes, "bot_hangs_up")
    call_id, call, report = out.call_id, out.call, out.report
    sid = _start_of(bot, call_id)["sid"]
    mine = bot.events(sid)
    kinds = [e["event"] for e in mine]
    assert "caller_stopped" in kinds and "disconnected" not in kinds, kinds  # the bot ended it
    # the phone's RFC 4733 key, as Twilio's dtmf message, as Pipecat's InputDTMFFrame
    assert [e["digit"] for e in mine if e["event"] == "dtmf"] == ["7"], mine
    # the platform hung up the phone because the bot closed its stream
    assert report.hung_up_by == "platform", report.as_dict()
    assert call["status"] == "completed" and call["end_reason"] == "stream_ended", call
    stopped = next(e["details"] for e in out.events if e["type"] == "call.streaming.stopped")
    assert stopped["reason"] == "bot_closed"
    # the goodbye after the caller's line reached the phone in full before the BYE
    line = report.lines[1]
    assert line.agent_reply_ms is not None, report.as_dict()
    bye = [s for s in report.spans if s[0] > line.ended_at]
    heard = _heard(report)
    tail = heard[-8000 * 4:]  # the phone's last 4 s: the goodbye, then the BYE
    said = _transcribe(whisper, tail.astype("<i2").tobytes())
    # its last word heard: tiny.en writes it "goodbye", "good-bye" or "bye bye"
    assert said.replace("-", " ").rstrip(" .!").endswith("bye"), said
    goodbye = asyncio.run(_espeak_8k("Thank you for calling, goodbye."))
    assert bye[-1][1] - bye[0][0] > 0.8 * voiced_span_s(goodbye), (report.as_dict(), said)


def padding_clicks(pcm: np.ndarray[Any, np.dtype[np.int16]]) -> int:
    """Frames of speech that end in 12+ exact zeros before more speech: a short piece of the
    bot's audio padded to a 20 ms frame by the node, heard as a click (the phone's frames are
    the node's RTP frames, so padding sits at a frame's end; speech rarely does that)."""
    from voicelane_media.sim.voice import level_dbfs

    frames = [pcm[i:i + 160] for i in range(0, len(pcm) - 159, 160)]
    loud = [level_dbfs(f) > -35.0 for f in frames]
    return sum(1 for i in range(len(frames) - 1)
               if loud[i] and loud[i + 1] and not frames[i][-12:].any())


async def _espeak_8k(text: str) -> np.ndarray[Any, np.dtype[np.int16]]:
    from voicelane_media.sim.voice import synthesize_8k

    return await synthesize_8k(text, "espeak")


def voiced_span_s(pcm: np.ndarray[Any, np.dtype[np.int16]]) -> float:
    from voicelane_media.sim.voice import speech_bounds

    onset, offset = speech_bounds(pcm)
    return offset - onset
