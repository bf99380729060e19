"""The agent's summary of its conversation so far, for the person a warm transfer hands the
caller to (the whisper of ``warm_transfer`` with ``summary: true``).

A language model writes it from the (redacted) transcript. The local `scripted` engine is not
one (it follows a script), so for it the summary is what the caller said, most recent last.
"""

from __future__ import annotations

from voicelane_media.agent.providers import ChatMessage, LLMEngine, TextDelta
from voicelane_media.agent.scripted import ScriptedDialogue
from voicelane_media.agent.transcript import Transcript

MAX_CHARS = 600
PROMPT = ("You hand a phone call to a colleague. In at most two short sentences, tell them "
          "who is calling and what the caller needs, from this conversation. Reply with the "
          "sentences only.")


def lines(transcript: Transcript) -> list[str]:
    return [f"{t.role}: {t.heard_text if t.interrupted and t.heard_text else t.text}"
            for t in transcript.turns if t.text.strip()]


async def summarize(llm: LLMEngine, transcript: Transcript) -> str:
    """Two sentences about the call so far ("" when nothing was said yet)."""
    said = lines(transcript)
    if not said:
        return ""
    if isinstance(llm, ScriptedDialogue):
        caller = [t.text.strip() for t in transcript.turns if t.role == "caller" and t.text.strip()]
        return ("The caller said: " + " ".join(caller))[-MAX_CHARS:] if caller else ""
    messages = [ChatMessage(role="system", content=PROMPT),
                ChatMessage(role="user", content="\n".join(said)[-8000:])]
    text = ""
    async for event in llm.stream(messages, []):
        if isinstance(event, TextDelta):
            text += event.text
            if len(text) > MAX_CHARS:
                break
    return text.strip()[:MAX_CHARS]
