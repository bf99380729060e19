"""The control plane's script check (`voicelane.domain.script.check_script`) accepts exactly the
tool names the runtime runs: a script it accepts never meets `unknown_tool` on a call, and one it
refuses with `script_unknown_tool` would have."""

from __future__ import annotations

from typing import Any

import pytest
from voicelane.domain.agent import AgentSpec
from voicelane.domain.errors import ValidationFailed
from voicelane.domain.script import SCRIPT_UNKNOWN_TOOL, check_script
from voicelane_media.agent.leg import InMemoryLeg
from voicelane_media.agent.providers import ChatMessage, ToolCallRequest
from voicelane_media.agent.scripted import ScriptedDialogue
from voicelane_media.agent.tools import ToolRunner

SCRIPT = {"states": {"main": {"intents": [
    {"keywords": ["bye"], "reply": "Bye!", "tool": {"name": "end_call"}}]}}}


async def _tool_result(spec: AgentSpec) -> Any:
    """Say "bye" to the scripted engine and run the tool call it makes, as a call would."""
    brain = ScriptedDialogue(spec.script)
    calls = [e async for e in brain.stream([ChatMessage(role="user", content="bye")], [])
             if isinstance(e, ToolCallRequest)]
    assert [c.name for c in calls] == ["end_call"]
    return await ToolRunner(spec.tools, InMemoryLeg()).run(calls[0].name, calls[0].arguments)


@pytest.mark.parametrize("tools, accepted", [
    ([], False),
    ([{"name": "end_call", "type": "end_call"}], True),
    ([{"name": "hang_up", "type": "end_call"}], False),
    ([{"name": "end_call", "type": "http", "url": "https://tools.example/end"}], True),
])
async def test_the_check_and_the_runtime_agree(tools: list[dict[str, Any]],
                                               accepted: bool) -> None:
    spec = AgentSpec.model_validate({"script": SCRIPT, "tools": tools})
    try:
        check_script(spec)
        refused = None
    except ValidationFailed as exc:
        refused = exc.code
    assert refused == (None if accepted else SCRIPT_UNKNOWN_TOOL)
    if tools and tools[0]["type"] == "http":
        return  # running it would POST to the URL; the name is what both sides agree on
    result = await _tool_result(spec)
    assert (result == {"ok": True}) is accepted
    assert (isinstance(result, dict) and result.get("error") == "unknown_tool") is not accepted
