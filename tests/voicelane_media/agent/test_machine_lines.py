"""What the agent says to a screener and leaves on a voicemail: a template over the call's
context for the scripted engine, the agent's LLM (over its real client) otherwise."""

from __future__ import annotations

import json

import httpx
from pydantic import SecretStr
from voicelane.domain.agent import AgentSpec
from voicelane_media.agent.cloud.openai_chat import OpenAIChatLLM
from voicelane_media.agent.cloud.settings import OpenAISettings
from voicelane_media.agent.machine_lines import screening_answer, voicemail_message
from voicelane_media.agent.scripted import ScriptedDialogue

AGENT = AgentSpec(name="Jessica from Sunrise Dental", greeting="Hello, thanks for picking up.",
                  system_prompt="You confirm dental appointments.")


async def test_the_scripted_engine_says_who_and_why_from_the_calls_context() -> None:
    llm = ScriptedDialogue(None)
    context = {"purpose": "your appointment tomorrow at nine", "callback_number": "555 0100"}
    assert await screening_answer(llm, AGENT, context) == (
        "Hi, this is Jessica from Sunrise Dental, calling about your appointment tomorrow at nine.")
    assert await voicemail_message(llm, AGENT, context) == (
        "Hi, this is Jessica from Sunrise Dental, calling about your appointment tomorrow at "
        "nine. Please call us back at 555 0100. Thank you, goodbye.")
    # "to ..." stays as it is; the call's caller_name wins over the agent's name
    assert await screening_answer(llm, AGENT, {"purpose": "to confirm your booking",
                                               "caller_name": "Dr Lee's office"}) == (
        "Hi, this is Dr Lee's office, calling to confirm your booking.")
    # no purpose: the agent's greeting says why
    assert await voicemail_message(llm, AGENT, None) == (
        "Hi, this is Jessica from Sunrise Dental. Hello, thanks for picking up. "
        "Thank you, goodbye.")


def _llm(handler: httpx.MockTransport) -> OpenAIChatLLM:
    settings = OpenAISettings(base_url="http://llm.internal/v1/", api_key=SecretStr("sk-test"))
    llm = OpenAIChatLLM.for_agent(AGENT.model_copy(update={"model": "m"}), settings)
    llm._http = httpx.AsyncClient(transport=handler)
    return llm


def _sse(text: str) -> str:
    body = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return f"data: {json.dumps(body)}\n\ndata: [DONE]\n\n"


async def test_a_language_model_writes_the_line_from_the_prompt_and_context() -> None:
    seen: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              text=_sse("  Jessica from Sunrise Dental, about your cleaning.  "))

    llm = _llm(httpx.MockTransport(answer))
    said = await screening_answer(llm, AGENT, {"purpose": "your cleaning"})
    assert said == "Jessica from Sunrise Dental, about your cleaning."
    system = seen[0]["messages"][0]["content"]  # type: ignore[index]
    assert system.startswith("You confirm dental appointments.")
    assert '"purpose": "your cleaning"' in system and "call-screening" in system


async def test_a_failing_model_still_leaves_who_and_why() -> None:
    llm = _llm(httpx.MockTransport(lambda request: httpx.Response(503, text="busy")))
    said = await voicemail_message(llm, AGENT, {"purpose": "your cleaning"})
    assert said == ("Hi, this is Jessica from Sunrise Dental, calling about your cleaning. "
                    "Thank you, goodbye.")
