"""The harness's scenarios: who calls, what they say, and the agent they reach."""

from __future__ import annotations

from typing import Any

from voicelane_media.sim import CallerLine, Impairment

from tests.phone.phone_harness import Scenario

TRANSFER_TARGET = "+14155550123"


def _agent(name: str, script: dict[str, Any], tools: list[dict[str, Any]], greeting: str,
           **extra: Any) -> dict[str, Any]:
    return {"name": name, "greeting": greeting, "first_speaker": "agent", "interruptible": True,
            "max_duration_s": 120, "inactivity_timeout_s": 15, "inactivity_action": "hangup",
            "script": script, "tools": [{"name": "end_call", "type": "end_call"}, *tools],
            **extra}


def _bye() -> dict[str, Any]:
    return {"name": "bye", "keywords": ["bye", "goodbye", "thanks", "thank"],
            "reply": "Goodbye!", "tool": {"name": "end_call"}}


def booking(tool_url: str) -> Scenario:
    """Real STT (whisper tiny.en): a spoken day becomes an HTTP tool call with that day."""
    script = {"states": {"main": {"intents": [
        {"name": "book", "regex": r"(?P<day>monday|tuesday|wednesday|thursday|friday)",
         "reply": "Booking {day}.", "tool": {"name": "book_slot", "arguments": {"day": "{day}"}},
         "after_tool": "Done, reference {result[reference]}. Anything else?"},
        _bye()], "fallback": "Which day would you like?"}}}
    tool = {"name": "book_slot", "type": "http", "url": tool_url, "timeout_s": 5,
            "parameters": {"type": "object", "properties": {"day": {"type": "string"}}}}
    return Scenario(
        name="tool_call_real_stt",
        agent=_agent("phone-booking", script, [tool], "Acme Dental, how can I help?",
                     engines={"stt": "local", "llm": "scripted", "tts": "local"}),
        lines=[CallerLine("I would like to book an appointment on Friday please."),
               CallerLine("No, that's all. Thank you, goodbye.")],
        impairment=Impairment(loss_pct=1.0, jitter_ms=20.0, seed=11), rtp_base=47000)


def transfer() -> Scenario:
    script = {"states": {"main": {"intents": [
        {"name": "human", "keywords": ["human", "person", "someone", "transfer"],
         "reply": "Putting you through now.",
         "tool": {"name": "transfer", "arguments": {"target": TRANSFER_TARGET}}}],
        "fallback": "Sorry?"}}}
    return Scenario(
        name="transfer",
        agent=_agent("phone-transfer", script, [{"name": "transfer", "type": "transfer"}],
                     "Hello, billing desk."),
        lines=[CallerLine("Can I talk to a human please?")],
        stt_texts=["Can I talk to a human please"], rtp_base=47200)


def redaction() -> Scenario:
    """A spoken card number (through STT) and a keyed one (RFC 4733 DTMF over RTP)."""
    script = {"states": {"main": {"intents": [
        {"name": "keyed", "keywords": ["keyed"], "reply": "Thanks, card received. Goodbye!",
         "tool": {"name": "end_call"}},
        {"name": "card", "keywords": ["card"], "reply": "Thanks. Please key it in as well."}],
        "fallback": "Sorry?"}}}
    return Scenario(
        name="redaction",
        agent=_agent("phone-payments", script, [], "Payments. What is your card number?"),
        lines=[CallerLine("My card number is 4111 1111 1111 1111."),
               CallerLine("", dtmf="5555555555554444#")],
        stt_texts=["My card number is 4111 1111 1111 1111."], rtp_base=47400)


def barge_in() -> Scenario:
    """The caller talks over a long greeting; the agent stops and answers the question."""
    long_greeting = ("Welcome to Acme Dental. Before we start, please listen carefully, as our "
                     "menu options have changed. We are open every weekday from eight in the "
                     "morning until six in the evening, and on Saturdays until noon. We offer "
                     "cleanings, fillings, crowns, and emergency care for all ages.")
    script = {"states": {"main": {"intents": [
        {"name": "help", "keywords": ["help", "booking"], "reply": "Sure, I can help with that."},
        _bye()], "fallback": "Sorry?"}}}
    return Scenario(
        name="barge_in",
        agent=_agent("phone-bargein", script, [], long_greeting),
        # No commas: the fake STT hears one text per VAD segment, and piper pauses at commas.
        lines=[CallerLine("I just need help with my booking", when="barge_in",
                          barge_after_ms=2000),
               CallerLine("Great thanks goodbye")],
        stt_texts=["I just need help with my booking", "Great thanks goodbye"],
        impairment=Impairment(loss_pct=2.0, jitter_ms=40.0, seed=5), rtp_base=47600)


def backchannel() -> Scenario:
    """The caller says "uh-huh" during a long greeting: the agent pauses, then goes on."""
    greeting = ("Welcome to Acme Dental. We are open every weekday from eight in the morning "
                "until six in the evening, and on Saturdays until noon.")
    script = {"states": {"main": {"intents": [_bye()], "fallback": "Sorry?"}}}
    return Scenario(
        name="backchannel",
        agent=_agent("phone-backchannel", script, [], greeting),
        lines=[CallerLine("Uh-huh.", when="barge_in", barge_after_ms=1500),
               CallerLine("Great thanks goodbye")],
        stt_texts=["uh-huh", "Great thanks goodbye"], rtp_base=47800)


def build_scenarios(tool_url: str) -> list[Scenario]:
    return [booking(tool_url), transfer(), redaction(), barge_in(), backchannel()]
