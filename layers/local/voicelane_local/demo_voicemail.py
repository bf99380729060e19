"""`voicelane demo voicemail` (`make demo-voicemail`): a voicemail drop on the local platform.

A reminder agent calls a simulated phone that answers like an answering machine: a spoken
greeting (espeak-ng), a pause and a 1 kHz beep. The call's ``machine_detection``
(``detect_beep``, ``leave_message`` with ``message: {"generate": true}``) finds the machine,
waits for the beep, and the agent leaves a message it wrote from the call's context (its name,
``context.purpose``, ``context.callback_number``), then hangs up: status ``voicemail``. Printed
from the public API (the call's events and record) and the phone's side (when the beep ended
and when the message began, as heard); written to ``<output>/voicemail/``: events.json,
call.json and heard.wav (what the machine recorded).
"""

from __future__ import annotations

import json
import os
import random
import time
import wave
from pathlib import Path
from typing import Any

import httpx

from voicelane_local.demo_output import check

GREETING = ("Hi, you've reached Sam. I can't take your call right now. "
            "Please leave a message after the tone.")
REMINDER = {
    "name": "Jessica from Sunrise Dental", "first_speaker": "agent", "max_duration_s": 60,
    "greeting": "Hi, this is Sunrise Dental calling about your appointment.",
    "engines": {"stt": "local", "llm": "scripted", "tts": "espeak"},
    "machine_detection": {"mode": "detect_beep", "action": "leave_message",
                          "message": {"generate": True}},
}
CONTEXT = {"purpose": "your dental cleaning on Tuesday at ten",
           "callback_number": "415 555 0100"}
FINAL = ("completed", "failed", "busy", "no_answer", "canceled", "voicemail")


def machine_audio() -> tuple[Any, float]:
    """The answering machine's recording (8 kHz) and when its beep ends (s from its start)."""
    from voicelane_media.sim.greetings import concat, silence, speech, tone

    spoken = concat(silence(300), speech(GREETING, voice="en-gb", wpm=180), silence(600))
    beep = tone(1000, 500)
    return concat(spoken, beep, silence(12_000)), (len(spoken) + len(beep)) / 8000


def run_voicemail_drop(api: httpx.Client, output: Path, quiet: bool = False) -> dict[str, Any]:
    """Place the call and report it: {call, events, message, beep_end_s, message_start_s}."""
    from voicelane_media.sim import PhoneThread

    def say(line: str) -> None:
        if not quiet:
            print(line)

    audio, beep_end_s = machine_audio()
    base = random.randrange(44000, 47000, 100)
    phone = PhoneThread([], greeting=audio, hangup_wait_s=5.0,
                        rtp_ports=(base, base + 99)).start()
    try:
        check(api.post("/v1/trunks", json={"name": "answering-machine", "host": "127.0.0.1",
                                            "port": phone.port, "transport": "udp"}))
        number = f"+1415{random.randrange(10**6, 10**7)}"
        check(api.post("/v1/numbers", json={"number": number}))
        agent = check(api.post("/v1/agents", json=REMINDER))
        call = check(api.post("/v1/calls", json={
            "from": number, "to": "+14155550123", "agent_id": agent["id"], "context": CONTEXT}))
        say(f"\n== voicemail drop: call {call['id']} from agent {agent['name']!r} to an "
            f"answering machine (machine_detection {json.dumps(REMINDER['machine_detection'])})")
        report = phone.wait(90)
        deadline = time.monotonic() + 20
        while (done := check(api.get(f"/v1/calls/{call['id']}")))["status"] not in FINAL:
            if time.monotonic() > deadline:
                raise SystemExit(f"demo failed: the voicemail call stayed {done['status']}")
            time.sleep(0.3)
        events = check(api.get(f"/v1/calls/{call['id']}/events"))["data"]
    finally:
        phone.stop()
    start = report.greeting_started_at or 0.0
    heard = [(a - start, b - start) for a, b in report.spans]
    message = next((e["details"]["text"] for e in events if e["type"] == "call.speak.started"),
                   None)
    for event in events:
        if event["type"].startswith("call.machine.") or event["type"] in (
                "call.answered", "call.speak.started", "call.speak.ended", "call.voicemail"):
            say(f"  #{event['sequence']} {event['type']} "
                f"{json.dumps(_short(event['details']))}")
    first = heard[0][0] if heard else None
    if first is not None:
        say(f"  the machine's beep ended at {beep_end_s:.2f} s; the agent's message began at "
            f"{first:.2f} s ({first - beep_end_s:+.2f} s) and lasted "
            f"{heard[-1][1] - first:.1f} s, as the machine recorded it")
    say(f"  message (written by the agent from the call's context): {message!r}")
    say(f"  status {done['status']}, end_reason {done['end_reason']}, answered_by "
        f"{done['answered_by']}")
    folder = output / "voicemail"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.json").write_text(json.dumps(events, indent=2))
    (folder / "call.json").write_text(json.dumps(done, indent=2))
    if report.heard is not None:
        with wave.open(str(folder / "heard.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(report.heard.tobytes())
    say(f"  wrote {folder}/: events.json, call.json, heard.wav (what the machine recorded)")
    return {"call": done, "events": events, "message": message, "beep_end_s": beep_end_s,
            "message_start_s": first, "heard": heard}


def _short(details: dict[str, Any]) -> dict[str, Any]:
    keep = ("result", "reason", "decide_ms", "beep", "beep_hz", "ended_ms", "status",
            "duration_s", "text", "end_reason")
    return {k: v for k, v in details.items() if k in keep and v is not None}


def run_voicemail_demo(api_port: int = 8000, output: Path = Path("demo-output")) -> int:
    """The scenario on its own local platform (``voicelane demo voicemail``)."""
    from voicelane_media.calls.machine_detection import LocalDetectionEngines

    from voicelane_local.platform import LocalPlatform

    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    print("Starting the local Voicelane platform (moto on loopback, API, runner, media node)...")
    platform = LocalPlatform(api_port=api_port).start()
    try:
        print("Loading the detector's engines (silero VAD, whisper tiny.en)...")
        LocalDetectionEngines().transcriber()
        with httpx.Client(base_url=platform.api_url, timeout=30,
                          headers={"Authorization": f"Bearer {platform.api_key}"}) as api:
            result = run_voicemail_drop(api, output)
        call = result["call"]
        landed = result["message_start_s"] is not None and \
            result["message_start_s"] >= result["beep_end_s"]
        if call["status"] != "voicemail" or not landed:
            print("demo failed: no message after the beep")
            return 1
        return 0
    finally:
        platform.stop()
