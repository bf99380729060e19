"""Field ranges of the create-call request and of agents (stored or inline)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from voicelane.contracts.calls import CreateCallRequest
from voicelane.contracts.sessions import CreateSessionRequest
from voicelane.domain.agent import AgentSpec

BASE = {"from": "+14155550100", "to": "+14155550199"}


def call(**fields: Any) -> CreateCallRequest:
    return CreateCallRequest.model_validate({**BASE, **fields})


def refused_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in err["loc"]) for err in exc.errors()}


def test_minimal_request_has_the_documented_defaults() -> None:
    req = call()
    assert req.from_ == "+14155550100" and req.to == "+14155550199"
    assert req.from_channel == "pstn" and req.to_channel == "pstn"
    assert req.metadata == {} and req.agent is None and req.max_duration_s is None


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"max_duration_s": 59}, "max_duration_s"),
        ({"max_duration_s": 7201}, "max_duration_s"),
        ({"from_channel": "carrier-pigeon"}, "from_channel"),
        ({"to_channel": "fax"}, "to_channel"),
        ({"to": ""}, "to"),
        ({"to": "x" * 129}, "to"),
        ({"from": ""}, "from"),
        ({"client_state": "x" * 4097}, "client_state"),
        ({"webhook_url": "https://e.com/" + "x" * 2048}, "webhook_url"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"bad key": "v"}}, "metadata"),
        ({"metadata": {"k\n": "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 257}}, "metadata"),
        ({"context": {"blob": "x" * 17_000}}, "context"),
        ({"sip_headers": {"Via": "evil"}}, "sip_headers"),
        ({"sip_headers": {"X-Ok\r\nVia": "evil"}}, "sip_headers"),
        ({"sip_headers": {"X-Ok": "a\r\nVia: evil"}}, "sip_headers"),
        ({"scheduled_at": "tomorrow"}, "scheduled_at"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"agent": {"temperature": 1.5}}, "agent.temperature"),
        ({"agent": {"max_duration_s": 30}}, "agent.max_duration_s"),
    ],
)
def test_out_of_range_call_fields_are_refused(fields: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as info:
        call(**fields)
    assert where in refused_fields(info.value)


@pytest.mark.parametrize(
    "fields",
    [
        {"max_duration_s": 60},
        {"max_duration_s": 7200},
        {"metadata": {f"k{i}": "v" * 256 for i in range(16)}},
        {"sip_headers": {"X-Customer-Id": "42"}},
        {"scheduled_at": "2030-01-01T00:00:00Z"},
        {"to_channel": "websocket", "to": "bot-7"},
        {"context": {"customer": {"name": "Ada", "orders": [1, 2]}}},
    ],
)
def test_in_range_call_fields_are_accepted(fields: dict[str, Any]) -> None:
    call(**fields)


# (field, lowest accepted, highest accepted, below, above) of every ranged agent field.
AGENT_RANGES = [
    ("temperature", 0, 1, -0.01, 1.01),
    ("max_duration_s", 60, 7200, 59, 7201),
    ("inactivity_timeout_s", 10, 300, 9, 301),
    ("endpointing_ms", 100, 3000, 99, 3001),
    ("min_interruption_ms", 0, 2000, -1, 2001),
    ("turn_max_wait_ms", 300, 5000, 299, 5001),
]


@pytest.mark.parametrize(("field", "low", "high", "below", "above"), AGENT_RANGES)
def test_agent_numeric_ranges(field: str, low: float, high: float, below: float, above: float) -> None:
    assert getattr(AgentSpec.model_validate({field: low}), field) == low
    assert getattr(AgentSpec.model_validate({field: high}), field) == high
    for bad in (below, above):
        with pytest.raises(ValidationError) as info:
            AgentSpec.model_validate({field: bad})
        assert refused_fields(info.value) == {field}


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("first_speaker", "user", "robot"),
        ("inactivity_action", "hangup", "explode"),
        ("language", "pt-BR", "Portuguese"),
        ("name", "Support", ""),
        ("system_prompt", "x" * 32_000, "x" * 32_001),
        ("greeting", "hi", "x" * 2_001),
        ("voice", "alloy", "x" * 129),
        ("model", "scripted", "x" * 129),
        ("interruptible", False, "sometimes"),
        ("turn_detection", "smart_turn", "vibes"),
        ("recording", True, "maybe"),
        ("background_voice_gate", False, "sometimes"),
        ("engines", {"stt": "transcribe", "llm": "bedrock", "tts": "polly"}, {"stt": "whisper-cloud"}),
        ("tools", [{"name": "end_call", "type": "end_call"}], [{"name": "1bad", "type": "http"}]),
        ("tools", [{"name": "lookup", "url": "https://e.com", "timeout_s": 30}],
         [{"name": "lookup", "timeout_s": 31}]),
    ],
)
def test_agent_fields(field: str, good: Any, bad: Any) -> None:
    AgentSpec.model_validate({field: good})
    with pytest.raises(ValidationError) as info:
        AgentSpec.model_validate({field: bad})
    assert all(loc.split(".")[0] == field for loc in refused_fields(info.value))


def test_agent_defaults() -> None:
    agent = AgentSpec()
    assert (agent.max_duration_s, agent.first_speaker, agent.inactivity_action) == (600, "agent", "prompt")
    assert 0 <= agent.temperature <= 1 and agent.engines.llm == "scripted"
    assert (agent.endpointing_ms, agent.min_interruption_ms) == (500, 300)
    assert (agent.turn_detection, agent.turn_max_wait_ms) == ("silence", 2000)
    assert agent.background_voice_gate is True
    with pytest.raises(ValidationError):
        AgentSpec.model_validate({"colour": "blue"})


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ({"connection_type": "websocket"}, True),
        ({"connection_type": "websocket", "sample_rate": 24000}, True),
        ({"connection_type": "websocket", "sample_rate": 44100}, False),
        ({"connection_type": "webrtc", "sample_rate": 16000}, False),
        ({"connection_type": "twilio"}, True),
        ({"connection_type": "skype"}, False),
        ({"connection_type": "webrtc", "identity": "has space"}, False),
    ],
)
def test_session_request(body: dict[str, Any], ok: bool) -> None:
    if ok:
        req = CreateSessionRequest.model_validate(body)
        if body["connection_type"] == "websocket":
            assert req.sample_rate in (8000, 16000, 24000)
    else:
        with pytest.raises(ValidationError):
            CreateSessionRequest.model_validate(body)
