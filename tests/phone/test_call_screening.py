"""Call screening answers and agent-written voicemail messages over real SIP + RTP: simulated
callees play a call screener's prompt (then a person comes on the line), a voicemail greeting
and its beep (the `voicelane demo voicemail` call), or a carrier greeting that sounds like a
screener; each test checks the events, the final status and what the callee heard (transcribed
by Whisper)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from voicelane_local.demo_voicemail import run_voicemail_drop
from voicelane_local.media_node import LocalNode
from voicelane_local.platform import LocalPlatform
from voicelane_media.calls.machine_detection import LocalDetectionEngines
from voicelane_media.codecs.resample import resample_pcm16
from voicelane_media.sim import CallerLine, PhoneReport, PhoneThread
from voicelane_media.sim.greetings import concat, silence, speech, tone
from voicelane_media.sim.voice import speech_bounds

from tests.phone.phone_harness import api_ok, app_key, call_the_phone

pytestmark = [pytest.mark.timeout(180)]
PROMPT = ("Hi, the person you are calling is using a screening service. "
          "Please say your name and why you are calling.")
PERSON = "Oh hi, this is Sam. Sorry, go ahead."
AGENT = {"name": "Jessica from Sunrise Dental", "first_speaker": "agent", "max_duration_s": 60,
         "greeting": "Hello Sam, thanks for picking up.", "inactivity_timeout_s": 10,
         "inactivity_action": "hangup",
         "engines": {"stt": "local", "llm": "scripted", "tts": "espeak"}}
CONTEXT = {"purpose": "your dental appointment tomorrow", "callback_number": "555 0100"}


@dataclass
class Callee:
    name: str
    audio: Any
    detection: dict[str, Any]
    script: list[CallerLine]
    hangup_wait_s: float
    voice_end_s: float  # the recording's speech ends here (s from its start)
    beep_end_s: float | None = None


@dataclass
class Result:
    callee: Callee
    call: dict[str, Any]
    events: list[dict[str, Any]]
    phone: PhoneReport

    def event(self, name: str) -> dict[str, Any]:
        found = [e for e in self.events if e["type"] == name]
        assert len(found) == 1, [e["type"] for e in self.events]
        return found[0]["details"]

    @property
    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def spans(self) -> list[tuple[float, float]]:
        """Agent speech the callee heard, in s from the start of its recording."""
        base = self.phone.greeting_started_at or 0.0
        return [(a - base, b - base) for a, b in self.phone.spans]

    def words(self, span: tuple[float, float]) -> str:
        """What the callee heard during ``span`` (Whisper tiny.en), lower case."""
        base = self.phone.greeting_started_at or 0.0
        audio = self.phone.heard_between(base + span[0] - 0.2, base + span[1] + 0.3)
        assert audio is not None and len(audio), span
        transcribe = LocalDetectionEngines().transcriber()
        assert transcribe is not None
        return transcribe(resample_pcm16(audio.tobytes(), 8000, 16000)).lower()


def callees() -> list[Callee]:
    prompt = concat(silence(300), speech(PROMPT, wpm=175))
    person = concat(speech(PERSON, voice="en-gb"), silence(200))
    carrier = concat(silence(300), speech("The person you are calling is not available. "
                                          "Please leave a message after the tone.", wpm=180))
    beep = concat(silence(600), tone(1000, 400))
    return [
        Callee("screening", concat(prompt, silence(200)), {"mode": "detect", "action": "hangup"},
               [CallerLine(PERSON, audio=person, bounds=speech_bounds(person),
                           silence_ms=1200)], 6.0, len(prompt) / 8000),
        Callee("carrier", concat(carrier, beep, silence(12000)),
               {"mode": "detect", "action": "leave_message",
                "message": {"text": "Hi, this is Acme Dental. Please call us back."}}, [], 5.0,
               len(carrier) / 8000, (len(carrier) + len(beep)) / 8000),
    ]


def voicemail_demo(platform: LocalPlatform, output: Path) -> dict[str, Any]:
    """``voicelane demo voicemail``'s call (an agent-written message) on this platform."""
    with httpx.Client(base_url=platform.api_url, timeout=15, headers={
            "Authorization": f"Bearer {app_key(platform, 'screen-demo')}"}) as api:
        return run_voicemail_drop(api, output, quiet=True)


def place(platform: LocalPlatform, callee: Callee, rtp_base: int) -> Result:
    key = app_key(platform, f"screen-{callee.name}")
    phone = PhoneThread(callee.script, greeting=callee.audio, hangup_wait_s=callee.hangup_wait_s,
                        rtp_ports=(rtp_base, rtp_base + 49)).start()
    try:
        with httpx.Client(base_url=platform.api_url, timeout=15,
                          headers={"Authorization": f"Bearer {key}"}) as api:
            agent = api_ok(api.post("/v1/agents", json=AGENT))["id"]
            done, report = call_the_phone(api, phone, {
                "agent_id": agent, "context": CONTEXT, "machine_detection": callee.detection}, 60)
            events = api_ok(api.get(f"/v1/calls/{done['id']}/events"))["data"]
    finally:
        phone.stop()
    return Result(callee, done, events, report)


@pytest.fixture(scope="module")
def results(local_platform: LocalPlatform, phone_node: LocalNode,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    LocalDetectionEngines().transcriber()  # load Whisper once, before the calls
    plan = callees()
    base = random.randrange(40000, 44000, 200)  # the node (conftest) takes 30000-39199
    out: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=len(plan) + 1) as pool:
        futures = {c.name: pool.submit(place, local_platform, c, base + 50 * i)
                   for i, c in enumerate(plan)}
        futures["demo"] = pool.submit(voicemail_demo, local_platform,
                                      tmp_path_factory.mktemp("demo"))
        for name, future in futures.items():
            try:
                out[name] = future.result(timeout=120)
            except Exception as exc:  # each test reports its own callee's failure
                out[name] = exc
    for name, result in out.items():  # with -s
        if isinstance(result, Result):
            print(f"screening {name}: {[(e['type'], e['details']) for e in result.events if 'machine' in e['type'] or 'screening' in e['type']]} "
                  f"spans {result.spans()} -> {result.call['status']} {result.call['end_reason']}")
    yield out


def _result(results: dict[str, Any], name: str) -> Result:
    result = results[name]
    if isinstance(result, BaseException):
        raise result
    assert isinstance(result, Result)
    return result


def test_a_screener_gets_the_agents_name_and_purpose_and_the_greeting_waits_for_the_person(
        results: dict[str, Any]) -> None:
    r = _result(results, "screening")
    found = r.event("call.machine.detection.ended")
    # A machine, decided by the prompt's length or its words (whichever came first); its words
    # made it a screener (the transcript of the prompt, in call.screening.answered).
    assert found["result"] == "machine", found
    assert found["reason"] in ("long_greeting", "screening_phrase:person you are calling",
                               "screening_phrase:screening service"), found
    answered = r.event("call.screening.answered")
    assert answered["prompt"], answered
    assert "Jessica from Sunrise Dental" in answered["text"] and \
        "appointment" in answered["text"], answered
    assert r.event("call.screening.ended")["result"] == "person"
    types = r.types
    assert types.index("call.machine.detection.ended") < types.index("call.screening.answered") \
        < types.index("call.screening.ended") < types.index("call.agent.started")
    spans, line = r.spans(), r.phone.lines[0]
    base = r.phone.greeting_started_at or 0.0
    person_start, person_end = line.started_at - base, line.ended_at - base
    # Nothing over the screener's prompt; the answer, then the person, then the greeting.
    assert spans and spans[0][0] > r.callee.voice_end_s, (spans, r.callee.voice_end_s)
    assert spans[0][1] < person_start, (spans, person_start)
    heard = r.words(spans[0])
    assert "jessica" in heard and "appointment" in heard, heard
    later = [s for s in spans if s[0] > spans[0][1]]
    assert later and later[0][0] > person_end, (spans, person_end)
    assert "picking up" in r.words(later[0])  # the greeting: "Hello Sam, thanks for picking up."
    assert (r.call["status"], r.call["answered_by"]) == ("completed", "human")


def test_the_voicemail_demo_leaves_the_agents_own_message_after_the_beep(
        results: dict[str, Any]) -> None:
    """``voicelane demo voicemail``: ``message: {"generate": true}``, written by the agent
    (the scripted engine's template over its name and the call's context)."""
    demo = results["demo"]
    if isinstance(demo, BaseException):
        raise demo
    types = [e["type"] for e in demo["events"]]
    ended = next(e["details"] for e in demo["events"] if e["type"] == "call.machine.greeting.ended")
    assert ended["beep"] is True and abs(ended["beep_hz"] - 1000) < 15, ended
    assert demo["message"] == ("Hi, this is Jessica from Sunrise Dental, calling about your "
                               "dental cleaning on Tuesday at ten. Please call us back at 415 "
                               "555 0100. Thank you, goodbye.")
    start = demo["message_start_s"]
    assert start is not None and demo["beep_end_s"] <= start < demo["beep_end_s"] + 3.0, demo
    assert demo["heard"][-1][1] - start > 5.0  # the whole message, not a blip
    call = demo["call"]
    assert (call["status"], call["end_reason"], call["answered_by"]) == (
        "voicemail", "voicemail_left", "machine")
    assert "call.agent.started" not in types and "call.screening.answered" not in types


def test_a_voicemail_that_sounds_like_a_screener_gets_the_message_not_an_answer(
        results: dict[str, Any]) -> None:
    r = _result(results, "carrier")
    assert r.event("call.machine.detection.ended")["result"] == "machine"
    assert "call.screening.answered" not in r.types
    spans = r.spans()
    assert r.callee.beep_end_s is not None and spans and spans[0][0] >= r.callee.beep_end_s, spans
    assert (r.call["status"], r.call["end_reason"]) == ("voicemail", "voicemail_left")
