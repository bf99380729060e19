"""The `scripted` engine: a deterministic dialogue engine. It is NOT a language model.

No usable chat LLM ships in a registry package, so the keyless local "brain" follows the
agent's `script` (AgentSpec.script):

    {
      "start": "main",
      "inactivity_prompt": "Are you still there?",
      "states": {
        "main": {
          "intents": [
            {"name": "book", "keywords": ["book", "appointment"],
             "regex": "(?P<day>monday|tuesday)",
             "reply": "Booking {day}.",
             "tool": {"name": "book_slot", "arguments": {"day": "{day}"}},
             "after_tool": "Done, your reference is {result[reference]}.",
             "next": "main"}
          ],
          "fallback": "Sorry, I did not catch that."
        }
      }
    }

An intent matches when any keyword appears in the caller's words (case-insensitive, whole
words) or its `regex` matches; the regex's named groups and `{text}` (the caller's words)
fill `{placeholders}` in replies and tool arguments.
`reply` is spoken, then `tool` is called; `after_tool` is spoken with `{result[...]}` from the
tool's JSON answer. With no match, `fallback` is spoken. States move with `next`.
The script's shape lives in `voicelane.domain.script`, which the API checks it with.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import string
from collections.abc import AsyncIterator, Sequence
from typing import Any

from voicelane.domain.agent import ToolSpec
from voicelane.domain.script import Script, ScriptIntent

from voicelane_media.agent.providers import ChatMessage, LLMEvent, TextDelta, ToolCallRequest


class _Fill(string.Formatter):
    """str.format that leaves unknown placeholders empty instead of raising."""

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Any) -> Any:
        try:
            return super().get_value(key, args, kwargs)
        except (KeyError, IndexError):
            return ""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Any) -> Any:
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, AttributeError, TypeError):
            return "", field_name


_FILL = _Fill()


def fill(template: str, values: dict[str, Any]) -> str:
    return _FILL.vformat(template, (), values)


class ScriptedDialogue:
    """Deterministic intent matcher with states; one instance per call (it holds the state)."""

    _ids = itertools.count(1)

    def __init__(self, script: dict[str, Any] | None) -> None:
        self.script = Script.model_validate(script or {})
        if self.script.start not in self.script.states:
            raise ValueError(f"script start state {self.script.start!r} is not defined")
        self.state = self.script.start
        self._pending: ScriptIntent | None = None
        self._values: dict[str, Any] = {}

    def fork(self) -> ScriptedDialogue:
        """A copy of the dialogue state to prepare a reply on (preemptive generation): what it
        streams moves the copy's state, not this one's, until `adopt`."""
        return copy.copy(self)

    def adopt(self, fork: object) -> None:
        """The reply prepared on `fork` was used: the dialogue goes on from its state."""
        if isinstance(fork, ScriptedDialogue) and fork is not self:
            self.state, self._pending, self._values = fork.state, fork._pending, fork._values

    def match(self, text: str) -> tuple[ScriptIntent | None, dict[str, Any]]:
        words = set(re.findall(r"[a-z0-9']+", text.lower()))
        for intent in self.script.states[self.state].intents:
            found = re.search(intent.regex, text, re.IGNORECASE) if intent.regex else None
            if found or any(self._keyword_in(k, words, text) for k in intent.keywords):
                return intent, (found.groupdict() if found else {})
        return None, {}

    @staticmethod
    def _keyword_in(keyword: str, words: set[str], text: str) -> bool:
        keyword = keyword.lower().strip()
        if " " in keyword:
            return re.search(rf"\b{re.escape(keyword)}\b", text.lower()) is not None
        return keyword in words

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[LLMEvent]:
        """Reply to the conversation so far, like an LLM would: text deltas, then tool calls."""
        last = messages[-1] if messages else None
        if last is not None and last.role == "tool" and self._pending is not None:
            pending = self._pending
            self._pending = None
            try:
                result = json.loads(last.content)
            except ValueError:
                result = last.content
            if pending.after_tool:
                yield TextDelta(text=fill(pending.after_tool, {**self._values, "result": result}))
            return
        user = next((m.content for m in reversed(messages) if m.role == "user"), None)
        if user is None:
            greeting = self.script.states[self.state].greeting
            if greeting:
                yield TextDelta(text=greeting)
            return
        intent, values = self.match(user)
        if intent is None:
            yield TextDelta(text=self.script.states[self.state].fallback)
            return
        self._values = {**values, "text": user}
        if intent.next:
            self.state = intent.next if intent.next in self.script.states else self.state
        if intent.reply:
            yield TextDelta(text=fill(intent.reply, self._values))
        if intent.tool is not None:
            self._pending = intent
            arguments = {
                k: fill(v, self._values) if isinstance(v, str) else v
                for k, v in intent.tool.arguments.items()
            }
            yield ToolCallRequest(
                call_id=f"script-{next(self._ids)}", name=intent.tool.name, arguments=arguments
            )
