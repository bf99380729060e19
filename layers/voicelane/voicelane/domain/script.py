"""The `script` of an agent (the `scripted` engine's dialogue), and its check against the agent.

The media plane runs it (`voicelane_media.agent.scripted`); the control plane checks it when an
agent is created or updated and when a call or session brings an inline agent, so a script
that names a tool the agent does not have, a state that does not exist or a regex that does
not compile is a 422 there, not a failure in the middle of a call.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voicelane.domain.agent import AgentSpec
from voicelane.domain.errors import ValidationFailed

SCRIPT_INVALID = "script_invalid"
SCRIPT_UNKNOWN_TOOL = "script_unknown_tool"


class ScriptTool(BaseModel):
    """The tool an intent calls: `name` is one of the agent's `tools` (built-ins included)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptIntent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    keywords: list[str] = Field(default_factory=list)
    regex: str | None = None
    reply: str = ""
    tool: ScriptTool | None = None
    after_tool: str = ""
    next: str | None = None


class ScriptState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    intents: list[ScriptIntent] = Field(default_factory=list)
    fallback: str = "Sorry, I did not catch that. Could you say it again?"
    greeting: str = ""


class Script(BaseModel):
    """The `script` field of an agent, validated."""

    model_config = ConfigDict(extra="ignore")
    start: str = "main"
    states: dict[str, ScriptState] = Field(default_factory=lambda: {"main": ScriptState()})
    inactivity_prompt: str | None = None


def _invalid(message: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(f"the agent's script is not valid: {message}", code=SCRIPT_INVALID,
                            details=details or None)


def check_script(spec: AgentSpec) -> Script | None:
    """The agent's script, parsed; ValidationFailed (422) if the call could not run it.

    `script_invalid`: not the script's shape, an unknown `start` or `next` state, a regex that
    does not compile. `script_unknown_tool`: an intent's tool is none of the agent's `tools`
    by name (the runtime offers only those, built-ins such as `end_call` included once listed).
    """
    if spec.script is None:
        return None
    try:
        script = Script.model_validate(spec.script)
    except ValidationError as exc:
        raise _invalid("see details", errors=[
            {"loc": ["script", *(str(p) for p in err["loc"])], "msg": err["msg"]}
            for err in exc.errors()]) from None
    if script.start not in script.states:
        raise _invalid(f"the start state {script.start!r} is not one of its states",
                       state=script.start)
    tools = sorted(tool.name for tool in spec.tools)
    for state_name, state in script.states.items():
        for i, intent in enumerate(state.intents):
            where = {"state": state_name, "intent": intent.name or i}
            if intent.next is not None and intent.next not in script.states:
                raise _invalid(f"intent {where['intent']!r} of state {state_name!r} goes to "
                               f"{intent.next!r}, which is not one of its states",
                               **where, next=intent.next)
            if intent.regex is not None:
                try:
                    re.compile(intent.regex)
                except re.error as exc:
                    raise _invalid(f"the regex of intent {where['intent']!r} of state "
                                   f"{state_name!r} does not compile ({exc})", **where) from None
            if intent.tool is not None and intent.tool.name not in tools:
                raise ValidationFailed(
                    f"the script's intent {where['intent']!r} of state {state_name!r} calls "
                    f"{intent.tool.name!r}, which is not one of the agent's tools: add it to "
                    "`tools` (built-ins too, e.g. {\"name\": \"end_call\", \"type\": "
                    "\"end_call\"})",
                    code=SCRIPT_UNKNOWN_TOOL, details={**where, "tool": intent.tool.name,
                                                       "tools": tools})
    return script
