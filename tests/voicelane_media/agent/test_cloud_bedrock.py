"""Amazon Bedrock ConverseStream: a real botocore bedrock-runtime client serialises the request;
the response is a recorded AWS event stream (real framing) handed back at botocore's send hook
and decoded by botocore's own event-stream parser."""

from __future__ import annotations

import asyncio
import json

import boto3
from voicelane.domain.agent import AgentSpec, ToolSpec
from voicelane_media.agent.cloud.bedrock import CALL_STARTED, BedrockLLM
from voicelane_media.agent.cloud.settings import BedrockSettings
from voicelane_media.agent.providers import ChatMessage, TextDelta, ToolCallRequest

from tests.voicelane_media.agent.cloud_wire import (
    BedrockWire,
    RawBody,
    converse_text,
    converse_tool_use,
)

BOOK = ToolSpec(
    name="book_slot",
    description="Book a slot.",
    parameters={"type": "object", "properties": {"day": {"type": "string"}}, "required": ["day"]},
)


def bedrock(wire: BedrockWire, **spec: object) -> BedrockLLM:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-west-2",
        aws_access_key_id="AK",
        aws_secret_access_key="SK",
    )
    wire.install(client)
    return BedrockLLM(
        BedrockSettings(max_tokens=200),
        model=str(spec.get("model", "default")),
        temperature=0.2,
        client=client,
    )


async def test_text_tokens_and_tool_use_round_trip():
    wire = BedrockWire(
        [
            RawBody(
                converse_tool_use(
                    "Let me book that.", "tu-1", "book_slot", ['{"da', 'y": "mon', 'day"}']
                )
            ),
            RawBody(converse_text("Booked, ", "reference ", "A7.")),
        ]
    )
    llm = bedrock(wire, model="anthropic.claude-3-5-haiku-20241022-v1:0")
    memory = [
        ChatMessage(role="system", content="You book appointments."),
        ChatMessage(role="assistant", content="Hello, Acme here."),
        ChatMessage(role="user", content="Monday please"),
    ]
    events = [e async for e in llm.stream(memory, [BOOK])]
    assert events == [
        TextDelta(text="Let me book that."),
        ToolCallRequest(call_id="tu-1", name="book_slot", arguments={"day": "monday"}),
    ]
    first = wire.requests[0]
    assert wire.urls[0].endswith(
        "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
    )
    assert first["system"] == [{"text": "You book appointments."}]
    assert first["inferenceConfig"] == {"maxTokens": 200, "temperature": 0.2}
    assert first["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "book_slot",
                    "description": "Book a slot.",
                    "inputSchema": {"json": BOOK.parameters},
                }
            }
        ]
    }
    # Converse starts with a user message: the greeting-first call gets an opening one.
    assert [m["role"] for m in first["messages"]] == ["user", "assistant", "user"]
    assert first["messages"][0]["content"] == [{"text": CALL_STARTED}]

    # The brain's memory after the tool ran, as Brain builds it.
    memory += [
        ChatMessage(role="assistant", content="Let me book that.", tool_calls=[events[1]]),  # type: ignore[list-item]
        ChatMessage(
            role="tool",
            content=json.dumps({"reference": "A7"}),
            tool_call_id="tu-1",
            name="book_slot",
        ),
    ]
    second = [e async for e in llm.stream(memory, [BOOK])]
    assert "".join(e.text for e in second if isinstance(e, TextDelta)) == "Booked, reference A7."
    messages = wire.requests[1]["messages"]
    assert messages[-2] == {
        "role": "assistant",
        "content": [
            {"text": "Let me book that."},
            {"toolUse": {"toolUseId": "tu-1", "name": "book_slot", "input": {"day": "monday"}}},
        ],
    }
    assert messages[-1] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "tu-1", "content": [{"json": {"reference": "A7"}}]}}
        ],
    }


async def test_tokens_arrive_before_the_stream_ends_and_cancelling_closes_it():
    body = RawBody(converse_text("One. ", "Two. ", "Three."), hold_after=3)
    llm = bedrock(BedrockWire([body]))
    stream = llm.stream([ChatMessage(role="user", content="count")], [])
    first = await asyncio.wait_for(anext(stream), 2)
    second = await asyncio.wait_for(anext(stream), 2)
    assert (first, second) == (TextDelta(text="One. "), TextDelta(text="Two. "))
    assert not body.closed.is_set()  # the model is still "generating"
    await stream.aclose()  # what a barge-in does to the reply task
    assert body.closed.is_set()


def test_agent_model_and_default():
    settings = BedrockSettings(model_id="amazon.nova-lite-v1:0")
    client = object()
    assert BedrockLLM.for_agent(AgentSpec(), settings).model_id == "amazon.nova-lite-v1:0"
    chosen = BedrockLLM(settings, model="meta.llama3-8b-instruct-v1:0", client=client)
    assert chosen.model_id == "meta.llama3-8b-instruct-v1:0"
