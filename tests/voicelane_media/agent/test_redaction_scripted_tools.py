"""Redaction, the scripted dialogue engine, and HTTP tools (through httpx's transport layer)."""

from __future__ import annotations

import json

import httpx
import pytest
from voicelane.domain.agent import AgentSpec, FirstSpeaker, ToolSpec
from voicelane_media.agent.audio import tone
from voicelane_media.agent.leg import InMemoryLeg
from voicelane_media.agent.providers import ChatMessage, TextDelta, ToolCallRequest
from voicelane_media.agent.redaction import CARD_MASK, CODE_MASK, Redactor, luhn_valid, redact
from voicelane_media.agent.scripted import ScriptedDialogue
from voicelane_media.agent.tools import ToolRunner

from tests.voicelane_media.agent.fake_dns import FakeResolver


@pytest.mark.parametrize(
    "text",
    [
        "it's four one one one one one one one one one one one one one one one",
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "three seven eight two eight two two four six three one double oh oh five",
    ],
)
def test_card_numbers_are_redacted(text):
    assert CARD_MASK in redact(text)
    assert not any(ch.isdigit() for ch in redact(text))


def test_non_card_numbers_stay():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert redact("my order is 4111 1111 1111 1112") == "my order is 4111 1111 1111 1112"
    assert redact("call 555 0100 at two") == "call 555 0100 at two"


def test_security_code_after_card_context_only():
    redactor = Redactor()
    assert redactor("the weather is 123 degrees") == "the weather is 123 degrees"
    redactor("what's the security code on your card?")
    assert redactor("seven three one") == CODE_MASK


SCRIPT = {
    "start": "main",
    "states": {
        "main": {
            "intents": [
                {
                    "name": "book",
                    "keywords": ["book", "appointment"],
                    "regex": r"(?P<day>monday|tuesday)",
                    "reply": "Booking {day} for you.",
                    "tool": {"name": "book_slot", "arguments": {"day": "{day}"}},
                    "after_tool": "Done, reference {result[reference]}.",
                    "next": "booked",
                }
            ],
            "fallback": "Sorry?",
        },
        "booked": {
            "intents": [
                {"keywords": ["bye", "goodbye"], "reply": "Bye!", "tool": {"name": "end_call"}}
            ]
        },
    },
}


async def _collect(engine, messages):
    return [event async for event in engine.stream(messages, [])]


async def test_scripted_engine_matches_intent_calls_tool_and_moves_state():
    engine = ScriptedDialogue(SCRIPT)
    history = [ChatMessage(role="user", content="I want to book Tuesday please")]
    events = await _collect(engine, history)
    assert events[0] == TextDelta(text="Booking Tuesday for you.")
    assert isinstance(events[1], ToolCallRequest) and events[1].arguments == {"day": "Tuesday"}
    history.append(ChatMessage(role="tool", content=json.dumps({"reference": "R7"})))
    assert await _collect(engine, history) == [TextDelta(text="Done, reference R7.")]
    assert engine.state == "booked"
    assert (await _collect(engine, [ChatMessage(role="user", content="what?")]))[0] == TextDelta(
        text="Sorry, I did not catch that. Could you say it again?"
    )


async def test_http_tool_posts_arguments_and_returns_json_to_the_llm():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"reference": "R7"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        tools = ToolRunner(
            [ToolSpec(name="book_slot", url="https://app.example/book", timeout_s=2)],
            InMemoryLeg(),
            "call_1",
            client,
            resolver=FakeResolver(),
        )
        result = await tools.run("book_slot", {"day": "Tuesday"})
    assert result == {"reference": "R7"}
    assert (
        json.loads(seen[0].content) == {"day": "Tuesday"}
        and seen[0].headers["Voicelane-Call-Id"] == "call_1"
    )


async def test_http_tool_timeout_becomes_an_error_result():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        tools = ToolRunner(
            [ToolSpec(name="slow", url="https://app.example/slow", timeout_s=0.1)],
            InMemoryLeg(),
            "c",
            client,
            resolver=FakeResolver(),
        )
        assert (await tools.run("slow", {}))["error"] == "timeout"


async def test_scripted_agent_books_with_http_tool_in_a_call(harness):
    calls: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        return httpx.Response(200, json={"reference": "R7"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    spec = AgentSpec(
        first_speaker=FirstSpeaker.USER,
        tools=[
            ToolSpec(name="book_slot", url="https://app.example/book"),
            ToolSpec(name="end_call", type="end_call"),
        ],
        script=SCRIPT,
    )
    h = harness(spec, ScriptedDialogue(SCRIPT), ["book me on monday", "ok bye"], http=client,
                resolver=FakeResolver())
    h.start()
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(700)
    await h.until(lambda: any("R7" in t.text for t in h.session.transcript.turns))
    await h.until(lambda: not h.session.agent_busy(), timeout=6)
    h.leg.feed_pcm(tone(400, 16000))
    h.leg.feed_silence(700)
    await h.until(lambda: h.task.done(), timeout=6)
    outcome = h.task.result()
    await client.aclose()
    assert calls == [{"day": "monday"}]
    assert outcome.reason == "agent_ended"
    agent = [t.text for t in outcome.transcript.turns if t.role == "agent"]
    assert agent == ["Booking monday for you. Done, reference R7.", "Bye!"]
