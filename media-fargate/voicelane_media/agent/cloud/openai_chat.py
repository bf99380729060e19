"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp server, Ollama).

POST {base_url}/chat/completions with `stream: true`; the answer is server-sent events, one
`data: {json}` line per chunk and `data: [DONE]` at the end. `choices[0].delta.content` holds
text tokens; `delta.tool_calls` holds fragments of tool calls keyed by `index` (the first
fragment brings `id` and `function.name`, later ones append to `function.arguments`).
Leaving the stream early (a barge-in) closes the HTTP response, so the server stops generating.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
from voicelane.domain.agent import AgentSpec, ToolSpec

from voicelane_media.agent.cloud.common import parse_arguments, tool_schema
from voicelane_media.agent.cloud.settings import OpenAISettings, agent_model
from voicelane_media.agent.providers import ChatMessage, LLMEvent, TextDelta, ToolCallRequest

log = logging.getLogger(__name__)


class LLMRequestFailed(RuntimeError):
    """The endpoint answered with an error status (the body's message, never the API key)."""


def chat_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The loop's memory as chat-completions messages (tool results as role=tool)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.role == "assistant" and message.tool_calls:
            item["content"] = message.content or None
            item["tool_calls"] = [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ]
        elif message.role == "tool":
            item["tool_call_id"] = message.tool_call_id or ""
        out.append(item)
    return out


def chat_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description or tool.name,
                "parameters": tool_schema(tool),
            },
        }
        for tool in tools
    ]


class OpenAIChatLLM:
    """Streaming chat with tools on an OpenAI-compatible endpoint."""

    def __init__(
        self,
        settings: OpenAISettings | None = None,
        model: str = "default",
        temperature: float | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings or OpenAISettings()
        self.model = agent_model(model, self.settings.model)
        self.temperature = temperature
        self._http = http

    @classmethod
    def for_agent(cls, spec: AgentSpec, settings: OpenAISettings | None = None) -> OpenAIChatLLM:
        return cls(settings, model=spec.model, temperature=spec.temperature)

    @property
    def url(self) -> str:
        return self.settings.base_url.rstrip("/") + "/chat/completions"

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            timeout = httpx.Timeout(
                self.settings.read_timeout_s, connect=self.settings.connect_timeout_s
            )
            self._http = httpx.AsyncClient(timeout=timeout)
        return self._http

    def body(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> dict[str, Any]:
        """The request body for this conversation."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(messages),
            "stream": True,
            "max_tokens": self.settings.max_tokens,
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if tools:
            body["tools"] = chat_tools(tools)
        return body

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.settings.api_key is not None:
            headers["Authorization"] = f"Bearer {self.settings.api_key.get_secret_value()}"
        return headers

    def fork(self) -> OpenAIChatLLM:
        """Stateless (the conversation comes with every request): a prepared reply (preemptive
        generation) streams on this engine itself."""
        return self

    def adopt(self, fork: object) -> None:
        """Nothing to take over: the engine keeps no dialogue state."""

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[LLMEvent]:
        body = self.body(messages, tools)
        calls: dict[int, dict[str, str]] = {}
        async with self._client().stream(
            "POST", self.url, json=body, headers=self._headers()
        ) as response:
            if response.status_code >= 400:
                detail = (await response.aread())[:300].decode("utf-8", "replace")
                raise LLMRequestFailed(
                    f"chat completions answered {response.status_code}: {detail}"
                )
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, comments (": keep-alive"), event names
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                for event in _chunk_events(json.loads(data), calls):
                    yield event
        for index in sorted(calls):
            call = calls[index]
            yield ToolCallRequest(
                call_id=call["id"] or f"call_{index}",
                name=call["name"],
                arguments=parse_arguments(call["arguments"]),
            )

    async def aclose(self) -> None:
        """Close the HTTP client (AgentSession calls this when the call ends)."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()


def _chunk_events(chunk: dict[str, Any], calls: dict[int, dict[str, str]]) -> list[TextDelta]:
    """Text deltas of one SSE chunk; tool-call fragments are accumulated into `calls`."""
    if "error" in chunk:
        raise LLMRequestFailed(f"chat completions stream error: {str(chunk['error'])[:300]}")
    events: list[TextDelta] = []
    for choice in chunk.get("choices") or []:
        if choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        if delta.get("content"):
            events.append(TextDelta(text=delta["content"]))
        for fragment in delta.get("tool_calls") or []:
            call = calls.setdefault(
                int(fragment.get("index", len(calls))), {"id": "", "name": "", "arguments": ""}
            )
            function = fragment.get("function") or {}
            call["id"] = fragment.get("id") or call["id"]
            call["name"] = function.get("name") or call["name"]
            call["arguments"] += function.get("arguments") or ""
    return events
