"""What the agent says to a machine on an outbound call, written from the call's context: its
answer to a call screener ("say your name and why you are calling") and the short voicemail
message of ``leave_message`` with ``message: {"generate": true}``.

    text = await screening_answer(llm, spec, call.context)   # "This is Ava from Acme Dental,
    text = await voicemail_message(llm, spec, call.context)  #  calling about ..."

Who is calling: the call's ``context.caller_name``, else the agent's ``name``. Why: the call's
``context.purpose`` (or ``reason``), else the agent's greeting. A language model writes the line
from the agent's system prompt and the call's context (the same prompt its conversation gets);
the local ``scripted`` engine is not one, so for it (and when the model fails or says nothing)
the line is a fixed template over those fields: deterministic, and it says only what the app
gave it.
"""

from __future__ import annotations

import logging
from typing import Any

from voicelane.domain.agent import AgentSpec

from voicelane_media.agent.brain import system_prompt
from voicelane_media.agent.providers import ChatMessage, LLMEngine, TextDelta
from voicelane_media.agent.scripted import ScriptedDialogue

log = logging.getLogger(__name__)
MAX_CHARS = 400
SCREENING_PROMPT = (
    "Your outbound call was answered by a call-screening assistant that asks who is calling "
    "and why, for the person you called. In one short sentence, say your name (and "
    "organisation) and why you are calling, from your instructions and the call context. "
    "Reply with the sentence only.")
VOICEMAIL_PROMPT = (
    "Your outbound call reached voicemail and the beep has sounded. Write the short message "
    "to leave, at most three sentences: who you are, why you called, and how to call back if "
    "the call context says so. Reply with the message only.")
_LINKS = ("about ", "to ", "regarding ", "for ", "on behalf ", "from ", "with ")


def caller_name(spec: AgentSpec, context: dict[str, Any] | None) -> str:
    named = (context or {}).get("caller_name")
    return str(named).strip() if named else spec.name


def purpose(spec: AgentSpec, context: dict[str, Any] | None) -> str | None:
    """Why the call is made, as words that follow "calling" ("about your appointment")."""
    context = context or {}
    why = context.get("purpose") or context.get("reason")
    if not why:
        return None
    text = str(why).strip().rstrip(".")
    return text if text.lower().startswith(_LINKS) else f"about {text}"


def screening_template(spec: AgentSpec, context: dict[str, Any] | None) -> str:
    name, why = caller_name(spec, context), purpose(spec, context)
    if why:
        return f"Hi, this is {name}, calling {why}."
    return f"Hi, this is {name}. {spec.greeting}".strip()


def voicemail_template(spec: AgentSpec, context: dict[str, Any] | None) -> str:
    name, why = caller_name(spec, context), purpose(spec, context)
    callback = (context or {}).get("callback_number")
    parts = [f"Hi, this is {name}, calling {why}." if why else f"Hi, this is {name}."]
    if not why and spec.greeting:
        parts.append(spec.greeting)
    if callback:
        parts.append(f"Please call us back at {callback}.")
    parts.append("Thank you, goodbye.")
    return " ".join(parts)


async def screening_answer(llm: LLMEngine, spec: AgentSpec,
                           context: dict[str, Any] | None) -> str:
    """The agent's answer to a call screener: its name and the call's purpose."""
    return await _write(llm, spec, context, SCREENING_PROMPT,
                        "The screener asks: please say your name and why you are calling.",
                        screening_template(spec, context))


async def voicemail_message(llm: LLMEngine, spec: AgentSpec,
                            context: dict[str, Any] | None) -> str:
    """The message the agent leaves after the beep."""
    return await _write(llm, spec, context, VOICEMAIL_PROMPT, "(the beep)",
                        voicemail_template(spec, context))


async def _write(llm: LLMEngine, spec: AgentSpec, context: dict[str, Any] | None,
                 task: str, heard: str, fallback: str) -> str:
    if isinstance(llm, ScriptedDialogue):
        return fallback[:MAX_CHARS]
    prompt = f"{system_prompt(spec.system_prompt, context)}\n\n{task}".strip()
    messages = [ChatMessage(role="system", content=prompt), ChatMessage(role="user", content=heard)]
    text = ""
    try:
        async for event in llm.stream(messages, []):
            if isinstance(event, TextDelta):
                text += event.text
                if len(text) > MAX_CHARS:
                    break
    except Exception:  # the model is down: the template still says who and why
        log.exception("the agent's LLM could not write its line; the template speaks")
        return fallback[:MAX_CHARS]
    return text.strip()[:MAX_CHARS] or fallback[:MAX_CHARS]
