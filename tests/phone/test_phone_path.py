"""Phone-path scenarios over real SIP + RTP (G.711, uplink loss and jitter) to a media node
running the agent loop; each asserts what the app would see through the API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.phone.phone_harness import Outcome
from tests.phone.scenarios import TRANSFER_TARGET

pytestmark = [pytest.mark.timeout(300)]


def _outcome(outcomes: dict[str, Any], name: str) -> Outcome:
    result = outcomes[name]
    if isinstance(result, BaseException):
        raise result
    assert isinstance(result, Outcome)
    return result


def test_spoken_request_becomes_a_tool_call_with_the_right_arguments(
        outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "tool_call_real_stt")
    caller = out.turns("caller")
    assert caller and "friday" in caller[0]["text"].lower(), out.transcript
    assert [r["body"] for r in out.tool_requests if r["call_id"] == out.call["id"]] == \
        [{"day": "Friday"}], out.tool_requests
    calls = out.tool_calls()
    assert calls[0]["name"] == "book_slot" and calls[0]["arguments"] == {"day": "Friday"}
    assert calls[0]["result"]["reference"] == "AC-77"
    assert "call.agent.tool_called" in out.event_types()
    assert out.call["end_reason"] == "agent_ended", out.call
    assert out.phone.hung_up_by == "platform"
    first_reply = out.call["metrics"]["turns"][1]
    assert first_reply["voice_to_voice_ms"] is not None and first_reply["voice_to_voice_ms"] > 0
    assert out.phone.lines[0].agent_reply_ms is not None  # the caller heard an answer


def test_caller_asking_for_a_human_is_transferred_by_refer(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "transfer")
    assert out.phone.refer_to is not None and TRANSFER_TARGET in out.phone.refer_to
    transfers = [c for c in out.tool_calls() if c["name"] == "transfer"]
    assert transfers and transfers[0]["arguments"] == {"target": TRANSFER_TARGET}
    completed = [e for e in out.events if e["type"] == "call.transfer.completed"]
    assert completed and completed[0]["details"]["to"] == TRANSFER_TARGET, out.event_types()
    assert out.call["status"] == "completed" and out.call["end_reason"] == "transferred"
    assert out.transcript["reason"] == "transferred"


def test_card_numbers_spoken_or_keyed_are_redacted_everywhere_they_are_stored(
        outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "redaction")
    texts = [t["text"] for t in out.turns("caller") + out.turns("dtmf")]
    assert len(texts) == 2, out.transcript
    assert all("redacted" in text for text in texts), texts
    stored = json.dumps([out.transcript, out.call, out.events])
    for card in ("4111 1111 1111 1111", "4111111111111111", "5555555555554444"):
        assert card not in stored
    keys = [e["details"] for e in out.events if e["type"] == "call.dtmf.received"]
    assert len(keys) == len("5555555555554444#"), keys  # each key press is an event...
    assert all(k == {"masked": True} for k in keys), keys  # ...without the key
    assert out.call["end_reason"] == "agent_ended"


def test_barge_in_stops_the_agent_and_truncates_its_turn_to_what_was_heard(
        outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "barge_in")
    greeting = out.turns("agent")[0]
    assert greeting["interrupted"] is True, greeting
    assert greeting["heard_text"] and len(greeting["heard_text"]) < len(greeting["text"])
    assert greeting["text"].startswith(greeting["heard_text"].split()[0])
    stop_ms = [m["barge_in_stop_ms"] for m in out.transcript["metrics"] if m.get("barge_in_stop_ms")]
    assert stop_ms and stop_ms[0] <= 100, out.transcript["metrics"]
    heard_stop = out.phone.lines[0].agent_stop_ms
    # As heard on the phone: VAD onset + min_interruption_ms (300) + the node's adaptive jitter
    # buffer under 40 ms of jitter + the phone's own buffer; the platform's share is above.
    assert heard_stop is not None and heard_stop < 1500, out.phone.as_dict()
    assert "call.agent.interrupted" in out.event_types()
    assert [t["text"] for t in out.turns("agent")][1:] == ["Sure, I can help with that.",
                                                         "Goodbye!"], out.transcript
    assert out.call["end_reason"] == "agent_ended"
    assert out.phone.relay["dropped"] > 0  # the uplink really lost packets


def test_backchannel_pauses_the_agent_which_then_resumes_the_whole_greeting(
        outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "backchannel")
    greeting = out.turns("agent")[0]
    assert greeting["interrupted"] is False, greeting  # the agent went on after "uh-huh"
    ignored = [e["details"] for e in out.events if e["type"] == "call.agent.interruption.ignored"]
    # "Uh-huh" lasts about min_interruption_ms (300): the VAD measures it just under (too short
    # to count) or just over (then its STT final is a backchannel); either way it is ignored
    assert ignored and ignored[0]["reason"] in ("backchannel", "short"), out.events
    assert "call.agent.interrupted" not in out.event_types()
    # As heard on the phone: the greeting stopped while the caller said "uh-huh"...
    assert out.phone.lines[0].agent_stop_ms is not None, out.phone.as_dict()
    assert [t["text"] for t in out.turns("caller")] == ["Great thanks goodbye"], out.transcript
    assert [t["text"] for t in out.turns("agent")][1:] == ["Goodbye!"], out.transcript
    assert out.call["end_reason"] == "agent_ended"
