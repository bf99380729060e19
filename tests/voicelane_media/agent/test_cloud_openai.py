"""OpenAI-compatible chat completions: a recorded SSE stream replayed through
httpx.MockTransport, and a tiny OpenAI-compatible server on loopback (a real socket) for
streaming timing and cancellation."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from voicelane.domain.agent import AgentSpec, ToolSpec
from voicelane_media.agent.cloud.openai_chat import LLMRequestFailed, OpenAIChatLLM
from voicelane_media.agent.cloud.settings import OpenAISettings
from voicelane_media.agent.providers import ChatMessage, TextDelta, ToolCallRequest

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


# As OpenAI streams it: role first, text, then two parallel tool calls in fragments.
RECORDED = "".join(
    [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Checking "}),
        chunk({"content": "now."}),
        ": keep-alive\n\n",
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Oslo"}'}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": ': "Rome"}'}}]}),
        chunk({}, finish="tool_calls"),
        "data: [DONE]\n\n",
    ]
)  # fmt: skip


async def test_recorded_stream_text_and_parallel_tool_calls():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=RECORDED)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    settings = OpenAISettings(
        base_url="http://vllm.internal:8000/v1/", api_key=SecretStr("sk-test")
    )
    llm = OpenAIChatLLM.for_agent(AgentSpec(model="llama-3.1-8b", temperature=0.3), settings)
    llm._http = http
    memory = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="Weather in Oslo and Rome?"),
    ]
    events = [e async for e in llm.stream(memory, [WEATHER])]
    await http.aclose()

    assert events == [
        TextDelta(text="Checking "),
        TextDelta(text="now."),
        ToolCallRequest(call_id="call_a", name="get_weather", arguments={"city": "Oslo"}),
        ToolCallRequest(call_id="call_b", name="get_weather", arguments={"city": "Rome"}),
    ]
    request = seen[0]
    assert str(request.url) == "http://vllm.internal:8000/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    body = json.loads(request.content)
    assert body["model"] == "llama-3.1-8b" and body["stream"] is True
    assert body["temperature"] == 0.3
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo and Rome?"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city.",
                "parameters": WEATHER.parameters,
            },
        }
    ]
    assert "sk-test" not in repr(settings)  # the key is a secret, never shown


async def test_tool_results_go_back_as_tool_messages():
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, text=chunk({"content": "Sunny."}) + "data: [DONE]\n\n")

    llm = OpenAIChatLLM(
        OpenAISettings(), http=httpx.AsyncClient(transport=httpx.MockTransport(handler))
    )
    call = ToolCallRequest(call_id="call_a", name="get_weather", arguments={"city": "Oslo"})
    memory = [
        ChatMessage(role="user", content="Oslo?"),
        ChatMessage(role="assistant", content="", tool_calls=[call]),
        ChatMessage(
            role="tool", content='{"sky": "sunny"}', tool_call_id="call_a", name="get_weather"
        ),
    ]
    assert [e async for e in llm.stream(memory, [])] == [TextDelta(text="Sunny.")]
    await llm.aclose()
    sent = bodies[0]["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "content": '{"sky": "sunny"}', "tool_call_id": "call_a"}
    assert "tools" not in bodies[0]


async def test_error_status_is_reported_without_the_key():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": "Incorrect API key provided"}})

    llm = OpenAIChatLLM(
        OpenAISettings(api_key=SecretStr("sk-secret")),
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(LLMRequestFailed, match="401") as failure:
        [e async for e in llm.stream([ChatMessage(role="user", content="hi")], [])]
    await llm.aclose()
    assert "sk-secret" not in str(failure.value)


class LoopbackChatServer:
    """A minimal OpenAI-compatible server: streams `tokens` as SSE, `gap_s` apart, over a real
    socket, and notes when the client went away."""

    def __init__(self, tokens: list[str], gap_s: float) -> None:
        self.tokens = tokens
        self.gap_s = gap_s
        self.sent = 0
        self.disconnected = asyncio.Event()
        self.finished = False
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        )
        try:
            for token in self.tokens:
                writer.write(chunk({"content": token}).encode())
                await writer.drain()
                self.sent += 1
                try:  # a read that ends means the client closed the connection
                    if await asyncio.wait_for(reader.read(1), self.gap_s) == b"":
                        self.disconnected.set()
                        return
                except TimeoutError:
                    pass
            writer.write(b"data: [DONE]\n\n")
            await writer.drain()
            self.finished = True
        except ConnectionError:
            self.disconnected.set()
        finally:
            writer.close()


async def test_first_token_arrives_before_the_stream_ends_over_a_socket():
    server = LoopbackChatServer(["Hello ", "there, ", "how ", "can ", "I ", "help?"], gap_s=0.1)
    async with server as base_url:
        llm = OpenAIChatLLM(OpenAISettings(base_url=base_url))
        started = time.monotonic()
        arrivals = []
        async for event in llm.stream([ChatMessage(role="user", content="hi")], []):
            arrivals.append((time.monotonic() - started, event))
        await llm.aclose()
    assert (
        "".join(e.text for _, e in arrivals if isinstance(e, TextDelta))
        == "Hello there, how can I help?"
    )
    assert arrivals[0][0] < 0.25  # first token long before the ~0.6 s stream is done
    assert arrivals[-1][0] - arrivals[0][0] > 0.4
    assert server.finished


async def test_interrupting_the_reply_closes_the_stream():
    server = LoopbackChatServer([f"word{i} " for i in range(100)], gap_s=0.02)
    async with server as base_url:
        llm = OpenAIChatLLM(OpenAISettings(base_url=base_url))
        received: list[str] = []

        async def reply() -> None:  # what Brain's reply task does
            async for event in llm.stream([ChatMessage(role="user", content="talk")], []):
                assert isinstance(event, TextDelta)
                received.append(event.text)

        task = asyncio.create_task(reply())
        while len(received) < 3:
            await asyncio.sleep(0.005)
        task.cancel()  # the barge-in cancels the reply
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(server.disconnected.wait(), 2)
        await llm.aclose()
    assert not server.finished and server.sent < 20
