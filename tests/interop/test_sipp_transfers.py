"""Warm transfers and click-to-call on a media node, with sipp as every party.

- A warm transfer: the caller is held (hold music on its leg alone), the target is dialled as
  a leg of the call, hears the whisper (TTS on its leg alone), and the two are bridged. Both
  calls are recorded: what the platform sent each of them is the recording's right channel,
  so "the target heard the whisper and not the music, the caller the music and not the
  whisper" is read off the two WAVs.
- A declined warm transfer: the target presses 2 (SIP INFO) during the whisper; the caller is
  back with the agent, which says so (its tool result).
- Click-to-call: both parties' INVITEs (sipp's message trace) show the app's number in From,
  never the other party's; one record per leg, linked, bridged.
- A caller who hangs up while the target (or click-to-call's second party) still rings: the
  target's INVITE is CANCELled at once (sipp's message traces time the BYE and the CANCEL),
  its record ends ``canceled``.
"""

from __future__ import annotations

import io
import re
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from voicelane.domain.agent import AgentSpec
from voicelane_local.media_node import LocalNode
from voicelane_media.agent import Engines
from voicelane_media.agent.fakes import EnergyVAD, QueuedSTT, ToneTTS
from voicelane_media.agent.scripted import ScriptedDialogue
from voicelane_media.calls import agent_runner

from tests.interop.sipp_helpers import (
    SCENARIOS,
    Api,
    Sipp,
    download_recording,
    new_number,
    requires_sipp,
    trace_times,
)

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(90)]

CHIME_HZ = (523.25, 659.25)  # calls/hold.py's default hold music
WHISPER = "Maria Lopez is calling about invoice four two seven. She would like a refund."


def _platform_channel(wav_bytes: bytes) -> np.ndarray:
    """The right channel (what the platform sent the party) as float samples at 8 kHz."""
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 8000
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return samples.reshape(-1, 2)[:, 1].astype(np.float64)


def _chime_share(x: np.ndarray) -> float:
    """Share of the signal's energy within 25 Hz of the hold music's two notes."""
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.shape[0], 1 / 8000)
    near = np.zeros_like(freqs, dtype=bool)
    for hz in CHIME_HZ:
        near |= np.abs(freqs - hz) < 25
    total = float(spectrum[1:].sum())
    return float(spectrum[near].sum()) / total if total else 0.0


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2))) if x.shape[0] else 0.0


def _outbound(api: Api, port: int, **extra: Any) -> tuple[str, str]:
    api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": port}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    call = api.ok(api.post("/v1/calls", {"from": number, "to": "+14155550123", **extra}))
    return str(call["id"]), number


def _saved_recording(api: Api, call_id: str) -> bytes:
    api.wait_event(call_id, "call.recording.saved", timeout_s=20)
    return download_recording(api, call_id)[1]


def test_warm_transfer_whispers_to_the_target_alone_then_bridges(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    caller = sipp("-sn", "uas")
    target = sipp("-sn", "uas")
    call_id, number = _outbound(api, caller.port, recording=True)
    api.wait_status(call_id, {"in_progress"})
    resp = api.action(call_id, "warm_transfer", {
        "to": f"sip:desk@127.0.0.1:{target.port}", "whisper": WHISPER, "timeout_s": 10})
    assert resp.status_code == 202, resp.text

    bridged = api.wait_event(call_id, "call.transfer.bridged", timeout_s=30)["details"]
    leg_id = bridged["target_call_id"]
    types = api.event_types(call_id)
    steps = [t for t in types if t.startswith("call.transfer.")]
    assert steps == ["call.transfer.initiated", "call.transfer.target_answered",
                     "call.transfer.whispered", "call.transfer.bridged"], types
    api.wait_event(leg_id, "call.bridged")
    leg = api.call(leg_id)
    assert leg["parent_call_id"] == call_id and leg["leg_purpose"] == "warm_transfer", leg
    assert leg["bridged_call_id"] == call_id and leg["from"] == number, leg
    assert api.call(call_id)["bridged_call_id"] == leg_id

    time.sleep(0.5)  # bridged for a moment, then the caller's side ends
    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_api"
    done = api.wait_status(leg_id, {"completed"})
    assert done["end_reason"] == "bridged_party_hangup" and done["bridged_call_id"] is None, done
    assert caller.wait() == 0, caller.output()
    assert target.wait() == 0, target.output()

    heard_by_caller = _platform_channel(_saved_recording(api, call_id))
    heard_by_target = _platform_channel(_saved_recording(api, leg_id))
    # The caller heard music (held) and nothing else: no speech energy outside its notes.
    assert _rms(heard_by_caller) > 300, _rms(heard_by_caller)
    assert _chime_share(heard_by_caller) > 0.9, _chime_share(heard_by_caller)
    # The target heard the whisper (seconds of speech), never the hold music.
    voiced = np.abs(heard_by_target) > 500
    assert voiced.sum() / 8000 > 1.0, voiced.sum()
    assert _chime_share(heard_by_target) < 0.3, _chime_share(heard_by_target)


def _warm_script(target: str) -> dict[str, Any]:
    """Key 1: a warm transfer (tool `handover`) to `target`; then say the tool's message."""
    return {"start": "main", "states": {"main": {
        "intents": [{"name": "billing", "regex": "1", "reply": "One moment.",
                     "tool": {"name": "handover", "arguments": {
                         "target": target, "summary": "A caller needs help with billing."}},
                     "after_tool": "{result[message]}"}],
        "fallback": "Press one for billing."}}}


@pytest.fixture
def instant_engines() -> Iterator[None]:
    """The agent's own brain (its script) on instant VAD/STT/TTS: the test is about the
    transfer, and a loaded machine builds the local models in seconds (the caller's keys
    would come before the agent listens)."""
    def build(spec: AgentSpec) -> Engines:
        return Engines(vad=EnergyVAD(), stt=QueuedSTT([]), llm=ScriptedDialogue(spec.script),
                       tts=ToneTTS(16000, 150.0),
                       names={"stt": "fake", "llm": "scripted", "tts": "fake"})

    agent_runner.set_engine_factory(build)
    yield
    agent_runner.set_engine_factory(None)


def test_a_declined_warm_transfer_returns_the_caller_to_the_agent(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp],
        instant_engines: None) -> None:
    target = sipp("-sf", str(SCENARIOS / "uas_declines_transfer.xml"))
    agent = api.ok(api.post("/v1/agents", {
        "name": "desk", "greeting": "Hello.",
        "script": _warm_script(f"sip:desk@127.0.0.1:{target.port}"),
        "tools": [{"name": "handover", "type": "warm_transfer"}]}))
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number, "agent_id": agent["id"]}))
    caller = sipp("-sf", str(SCENARIOS / "uac_keys_for_warm_transfer.xml"), "-s", number,
                  "-mi", "127.0.0.1", target=f"127.0.0.1:{media_node.sip_port}")
    call_id = api.wait_event_for_number(number)

    declined = api.wait_event(call_id, "call.transfer.declined", timeout_s=30)["details"]
    assert declined["reason"] == "declined", declined
    tool = api.wait_event(call_id, "call.agent.tool_called", timeout_s=10)["details"]
    assert tool["name"] == "handover" and tool["result"]["error"] == "declined", tool
    # The agent is back with the caller and tells it (the tool result's message).
    deadline = time.monotonic() + 15
    while not [e for e in api.events(call_id) if e["type"] == "call.agent.turn"
               and "declined" in (e["details"].get("text") or "")]:
        assert time.monotonic() < deadline, api.event_types(call_id)
        time.sleep(0.2)
    types = api.event_types(call_id)
    assert "call.transfer.target_answered" in types, types
    assert "call.transfer.bridged" not in types, types
    assert "call.bridged" not in types and api.call(call_id)["status"] == "in_progress"

    leg_id = declined["target_call_id"]
    leg = api.wait_status(leg_id, {"completed"})
    assert leg["end_reason"] == "transfer_declined" and leg["parent_call_id"] == call_id, leg
    digits = [e["details"].get("digit") for e in api.events(leg_id)
              if e["type"] == "call.dtmf.received"]
    assert digits == ["2"], digits
    assert target.wait() == 0, target.output()

    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_api"
    assert caller.wait() == 0, caller.output()


def _invites(trace: Path) -> list[str]:
    """The INVITEs sipp received, from its message trace (blocks under a dashed line)."""
    blocks = re.split(r"^-{5,}.*$", trace.read_text("latin-1").replace("\r", ""), flags=re.M)
    return [block.split("\n\n", 1)[1] for block in blocks
            if "message received" in block and "\n\nINVITE sip:" in block]


def test_click_to_call_shows_only_the_app_number_to_both_parties(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    trace = tmp_path / "click-to-call-messages.log"
    peer = sipp("-sn", "uas", "-m", "2", "-trace_msg", "-message_file", str(trace))
    customer, agent_phone = "+14155550123", "+14155550188"
    call_id, number = _outbound(api, peer.port, connect_to=agent_phone,
                                connect_prompt={"text": "Connecting you now."})
    first = api.call(call_id)
    assert first["connect_to"] == agent_phone and first["to"] == customer

    bridged = api.wait_event(call_id, "call.bridged", timeout_s=30)["details"]
    leg_id = bridged["bridged_call_id"]
    leg = api.call(leg_id)
    assert leg["parent_call_id"] == call_id and leg["leg_purpose"] == "click_to_call", leg
    assert leg["from"] == number and leg["to"] == agent_phone, leg
    assert leg["bridged_call_id"] == call_id and api.call(call_id)["bridged_call_id"] == leg_id
    assert "call.bridged" in api.event_types(leg_id)
    types = api.event_types(call_id)
    assert types.index("call.speak.ended") < types.index("call.connect.initiated"), types

    api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
    api.wait_status(call_id, {"completed"})
    assert api.wait_status(leg_id, {"completed"})["end_reason"] == "bridged_party_hangup"
    assert peer.wait() == 0, peer.output()

    froms: dict[str, str] = {}
    for message in _invites(trace):
        request_uri = message.split("INVITE ", 1)[1].split(" ", 1)[0]
        from_line = next(line for line in message.splitlines() if line.startswith("From:"))
        froms[request_uri] = from_line
    assert len(froms) == 2, froms
    for uri, from_line in froms.items():
        assert number in from_line, (uri, from_line)
        other = agent_phone if customer in uri else customer
        assert other not in from_line, (uri, from_line)
    assert {customer in uri for uri in froms} == {True, False}


CANCEL_WITHIN_S = 2.0  # from the caller's BYE to the target's CANCEL (load 10 included)


def _bye_then_cancel(caller_trace: Path, target_trace: Path) -> float:
    """Seconds from the caller's BYE to the CANCEL the target got; the target rang before."""
    bye = next(t for t, way, line in trace_times(caller_trace)
               if way == "sent" and line.startswith("BYE "))
    target = trace_times(target_trace)
    invite = next(t for t, way, line in target if way == "received" and line.startswith("INVITE"))
    cancel = next(t for t, way, line in target if way == "received" and line.startswith("CANCEL"))
    assert invite < bye, "the target was not ringing yet when the caller left: a slower setup"
    return cancel - bye


def test_a_caller_hanging_up_cancels_the_ringing_warm_transfer_target(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    caller_trace, target_trace = tmp_path / "caller.log", tmp_path / "target.log"
    caller = sipp("-sf", str(SCENARIOS / "uas_hangs_up.xml"), "-d", "3000",
                  "-trace_msg", "-message_file", str(caller_trace))
    target = sipp("-sf", str(SCENARIOS / "uas_ring_cancel.xml"),
                  "-trace_msg", "-message_file", str(target_trace))
    call_id, _ = _outbound(api, caller.port)
    api.wait_status(call_id, {"in_progress"})
    api.ok(api.action(call_id, "warm_transfer", {
        "to": f"sip:desk@127.0.0.1:{target.port}", "whisper": WHISPER, "timeout_s": 30}))

    failed = api.wait_event(call_id, "call.transfer.failed", timeout_s=15)["details"]
    assert failed["reason"] == "caller_hangup", failed
    assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_callee"
    leg = api.wait_status(failed["target_call_id"], {"canceled", "no_answer", "completed"})
    assert leg["status"] == "canceled" and leg["end_reason"] == "parent_ended", leg
    assert leg["leg_purpose"] == "warm_transfer" and leg["parent_call_id"] == call_id, leg
    assert target.wait() == 0, target.output()  # CANCEL, 200, 487, ACK: as a phone wants
    assert caller.wait() == 0, caller.output()
    waited = _bye_then_cancel(caller_trace, target_trace)
    assert waited < CANCEL_WITHIN_S, f"CANCEL {waited:.2f} s after the BYE"
    types = api.event_types(call_id)
    assert "call.transfer.target_answered" not in types and "call.bridged" not in types, types


def test_the_first_party_hanging_up_cancels_click_to_calls_ringing_second_party(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    first_trace, second_trace = tmp_path / "first.log", tmp_path / "second.log"
    first = sipp("-sf", str(SCENARIOS / "uas_hangs_up.xml"), "-d", "2000",
                 "-trace_msg", "-message_file", str(first_trace))
    second = sipp("-sf", str(SCENARIOS / "uas_ring_cancel.xml"),
                  "-trace_msg", "-message_file", str(second_trace))
    call_id, _ = _outbound(api, first.port, connect_to=f"sip:agent@127.0.0.1:{second.port}")

    failed = api.wait_event(call_id, "call.connect.failed", timeout_s=15)["details"]
    assert failed["reason"] == "first_party_hangup", failed
    assert api.wait_status(call_id, {"completed"})["end_reason"] == "hangup_by_callee"
    leg = api.wait_status(failed["target_call_id"], {"canceled", "no_answer", "completed"})
    assert leg["status"] == "canceled" and leg["end_reason"] == "parent_ended", leg
    assert leg["leg_purpose"] == "click_to_call", leg
    assert second.wait() == 0, second.output()
    assert first.wait() == 0, first.output()
    waited = _bye_then_cancel(first_trace, second_trace)
    assert waited < CANCEL_WITHIN_S, f"CANCEL {waited:.2f} s after the BYE"
