"""Amazon Bedrock LLM: the ConverseStream API with tool use.

Memory (OpenAI-like ChatMessage roles) becomes Converse messages: the system prompt goes to
`system`, assistant tool calls become `toolUse` blocks, tool results become `toolResult` blocks
(JSON documents) in a user message. Converse wants the conversation to start with a user
message and roles to alternate, so a greeting-first call gets a short opening user message and
neighbouring messages of one role are merged.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from voicelane.domain.agent import AgentSpec, ToolSpec

from voicelane_media.agent.cloud.aws import aws_client
from voicelane_media.agent.cloud.common import (
    iterate_in_thread,
    parse_arguments,
    tool_result_document,
    tool_schema,
)
from voicelane_media.agent.cloud.settings import BedrockSettings, agent_model
from voicelane_media.agent.providers import ChatMessage, LLMEvent, TextDelta, ToolCallRequest

CALL_STARTED = "[The call has connected.]"


def converse_messages(messages: Sequence[ChatMessage]) -> tuple[list[dict[str, Any]], str]:
    """(Converse `messages`, system prompt) from the loop's memory."""
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        blocks: list[dict[str, Any]] = []
        if message.role == "tool":
            role = "user"
            blocks.append(
                {
                    "toolResult": {
                        "toolUseId": message.tool_call_id or "",
                        "content": [{"json": tool_result_document(message.content)}],
                    }
                }
            )
        else:
            role = message.role
            if message.content.strip():
                blocks.append({"text": message.content})
            for call in message.tool_calls:
                blocks.append(
                    {
                        "toolUse": {
                            "toolUseId": call.call_id,
                            "name": call.name,
                            "input": call.arguments,
                        }
                    }
                )
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    if not out or out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"text": CALL_STARTED}]})
    return out, system


def tool_config(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    return {
        "tools": [
            {
                "toolSpec": {
                    "name": tool.name,
                    "description": tool.description or tool.name,
                    "inputSchema": {"json": tool_schema(tool)},
                }
            }
            for tool in tools
        ]
    }


class BedrockLLM:
    """Streaming chat on Amazon Bedrock (needs bedrock:InvokeModelWithResponseStream)."""

    def __init__(
        self,
        settings: BedrockSettings | None = None,
        model: str = "default",
        temperature: float | None = None,
        client: Any | None = None,
    ) -> None:
        self.settings = settings or BedrockSettings()
        self.model_id = agent_model(model, self.settings.model_id)
        self.temperature = temperature
        self.client = client or aws_client(
            "bedrock-runtime",
            self.settings.region,
            self.settings.endpoint_url,
            self.settings.connect_timeout_s,
            self.settings.read_timeout_s,
        )

    @classmethod
    def for_agent(cls, spec: AgentSpec, settings: BedrockSettings | None = None) -> BedrockLLM:
        return cls(settings, model=spec.model, temperature=spec.temperature)

    def request(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> dict[str, Any]:
        """The ConverseStream parameters for this conversation."""
        converse, system = converse_messages(messages)
        inference: dict[str, Any] = {"maxTokens": self.settings.max_tokens}
        if self.temperature is not None:
            inference["temperature"] = self.temperature
        params: dict[str, Any] = {
            "modelId": self.model_id,
            "messages": converse,
            "inferenceConfig": inference,
        }
        if system:
            params["system"] = [{"text": system}]
        if tools:
            params["toolConfig"] = tool_config(tools)
        return params

    def fork(self) -> BedrockLLM:
        """Stateless (the conversation comes with every request): a prepared reply (preemptive
        generation) streams on this engine itself."""
        return self

    def adopt(self, fork: object) -> None:
        """Nothing to take over: the engine keeps no dialogue state."""

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[LLMEvent]:
        request = self.request(messages, tools)
        opened: list[Any] = []

        def events() -> Iterator[dict[str, Any]]:
            response = self.client.converse_stream(**request)
            opened.append(response["stream"])
            yield from response["stream"]

        def close() -> None:
            for stream in opened:
                stream.close()

        tool_uses: dict[int, dict[str, Any]] = {}
        async with contextlib.aclosing(iterate_in_thread(events, close)) as stream:
            async for event in stream:
                for item in _events_of(event, tool_uses):
                    yield item


def _events_of(event: dict[str, Any], tool_uses: dict[int, dict[str, Any]]) -> list[LLMEvent]:
    """Text deltas and finished tool calls in one ConverseStream event (tool input JSON comes
    in fragments and is parsed when its content block stops)."""
    if "contentBlockStart" in event:
        start = event["contentBlockStart"]
        use = start.get("start", {}).get("toolUse")
        if use is not None:
            tool_uses[start.get("contentBlockIndex", 0)] = {**use, "input": ""}
    elif "contentBlockDelta" in event:
        block = event["contentBlockDelta"]
        delta = block.get("delta", {})
        if delta.get("text"):
            return [TextDelta(text=delta["text"])]
        if "toolUse" in delta:
            blank = {"toolUseId": "", "name": "", "input": ""}
            use = tool_uses.setdefault(block.get("contentBlockIndex", 0), blank)
            use["input"] += delta["toolUse"].get("input", "")
    elif "contentBlockStop" in event:
        use = tool_uses.pop(event["contentBlockStop"].get("contentBlockIndex", 0), None)
        if use is not None:
            arguments = parse_arguments(use["input"])
            return [
                ToolCallRequest(call_id=use["toolUseId"], name=use["name"], arguments=arguments)
            ]
    return []
