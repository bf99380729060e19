"""One full agent turn on the cloud engines: build_engines({stt: transcribe, llm: bedrock,
tts: polly}) and the real AgentSession on the InMemoryLeg, with the AWS side stubbed at the
SDK boundaries: Polly through botocore's Stubber, Bedrock's ConverseStream as a recorded event
stream at botocore's send hook, Transcribe through its SDK against a fake streaming service."""

from __future__ import annotations

import asyncio
import io

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from voicelane.domain.agent import AgentSpec, EngineChoice, ToolSpec
from voicelane_media.agent import AgentSession, InMemoryLeg, LoopSettings
from voicelane_media.agent.audio import tone
from voicelane_media.agent.cloud.aws import reset_clients
from voicelane_media.agent.cloud.bedrock import BedrockLLM
from voicelane_media.agent.cloud.polly import PollyTTS
from voicelane_media.agent.cloud.transcribe import TranscribeSTT
from voicelane_media.agent.cloud.transcribe import reset_clients as reset_transcribe_clients
from voicelane_media.agent.engines import build_engines
from voicelane_media.agent.fakes import EnergyVAD

from tests.voicelane_media.agent.cloud_wire import (
    BedrockWire,
    FakeTranscribeService,
    RawBody,
    TranscribeScript,
    converse_tool_use,
)


@pytest.fixture
def aws_env(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "eu-west-1",
        "VOICELANE_POLLY_SAMPLE_RATE": "16000",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    reset_clients()
    reset_transcribe_clients()
    yield
    reset_clients()
    reset_transcribe_clients()


def polly_reply(text: str, ms: int) -> tuple[dict[str, object], dict[str, object]]:
    pcm = tone(ms, 16000, freq=330.0)
    response = {"AudioStream": StreamingBody(io.BytesIO(pcm), len(pcm)), "ContentType": "audio/pcm"}
    params = {
        "Text": text,
        "OutputFormat": "pcm",
        "SampleRate": "16000",
        "VoiceId": "Amy",
        "Engine": "neural",
    }
    return response, params


async def test_one_turn_on_transcribe_bedrock_polly(aws_env):
    spec = AgentSpec(
        system_prompt="You take bookings.",
        greeting="Hello, Acme here.",
        language="en-GB",
        model="anthropic.claude-3-haiku-20240307-v1:0",
        engines=EngineChoice(stt="transcribe", llm="bedrock", tts="polly"),
        tools=[ToolSpec(name="end_call", type="end_call")],
    )
    engines = build_engines(spec)
    assert isinstance(engines.stt, TranscribeSTT)
    assert isinstance(engines.llm, BedrockLLM)
    assert isinstance(engines.tts, PollyTTS)
    engines.vad = EnergyVAD()  # silero wants real speech; the caller here speaks a tone

    transcribe = FakeTranscribeService(
        TranscribeScript(partials=[(3200, "book")], finals=["Book Monday."])
    )
    engines.stt.client._session_manager = transcribe  # type: ignore[attr-defined]
    bedrock = BedrockWire(
        [
            RawBody(
                converse_tool_use(
                    "Booked for Monday.", "tu-9", "end_call", ['{"reason": "booked"}']
                )
            )
        ]
    ).install(engines.llm.client)  # type: ignore[attr-defined]
    polly = Stubber(engines.tts.client)  # type: ignore[attr-defined]
    for text, ms in (("Hello, Acme here.", 400), ("Booked for Monday.", 400)):
        polly.add_response("synthesize_speech", *polly_reply(text, ms))

    leg = InMemoryLeg(sample_rate=16000)
    events: list[tuple[str, dict[str, object]]] = []

    async def sink(event_type: str, details: dict[str, object]) -> None:
        events.append((event_type, details))

    session = AgentSession(
        spec, leg, engines, call_id="call_cloud", on_event=sink,
        settings=LoopSettings(max_duration_s=8.0),
    )  # fmt: skip
    with polly:
        task = asyncio.create_task(session.run())
        while leg.played_ms() < 400:  # the greeting, synthesised by "Polly", is heard
            await asyncio.sleep(0.01)
        leg.feed_pcm(tone(400, 16000))
        leg.feed_silence(900)
        outcome = await asyncio.wait_for(task, 8)
    polly.assert_no_pending_responses()

    assert outcome.reason == "agent_ended"
    turns = [(t.role, t.text) for t in outcome.transcript.turns]
    assert turns == [
        ("agent", "Hello, Acme here."),
        ("caller", "Book Monday."),
        ("agent", "Booked for Monday."),
    ]
    assert [c.name for c in outcome.transcript.turns[2].tool_calls] == ["end_call"]
    assert 780 <= leg.played_ms() <= 820  # both Polly replies played in full
    request = bedrock.requests[0]
    assert bedrock.urls[0].endswith(
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
    )
    assert request["system"][0]["text"] == "You take bookings."
    assert request["messages"][-2:] == [
        {"role": "assistant", "content": [{"text": "Hello, Acme here."}]},
        {"role": "user", "content": [{"text": "Book Monday."}]},
    ]
    assert [t["toolSpec"]["name"] for t in request["toolConfig"]["tools"]] == ["end_call"]
    assert transcribe.requests[0][1]["x-amzn-transcribe-language-code"] == "en-GB"
    assert len(transcribe.audio) >= 400 * 32  # the caller's speech went to Transcribe
    started = next(d for t, d in events if t == "agent.started")
    assert started["engines"] == {"stt": "transcribe", "llm": "bedrock", "tts": "polly"}
