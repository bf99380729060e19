"""The agent's warm_transfer tool: what it hands the call (a validated WarmTransferSpec: the
LLM's summary as the whisper, the accept prompt on) and what the LLM hears back."""

from __future__ import annotations

from voicelane.domain.agent import ToolSpec
from voicelane_media.agent.leg import InMemoryLeg
from voicelane_media.agent.tools import ToolRunner


def _runner(leg: InMemoryLeg) -> ToolRunner:
    return ToolRunner([ToolSpec(name="handover", type="warm_transfer")], leg, call_id="call_1")


async def test_a_bridged_warm_transfer_marks_the_agent_transferred() -> None:
    leg = InMemoryLeg()
    runner = _runner(leg)
    result = await runner.run("handover", {"target": "+14155550188",
                                           "summary": "Maria wants a refund.", "dtmf": "12"})
    assert result == {"ok": True, "bridged": True}
    (spec,) = leg.warm_transfers
    assert spec.to == "+14155550188" and spec.whisper == "Maria wants a refund."
    assert spec.dtmf == "12" and spec.accept_prompt is True
    assert runner.transferred_to == "+14155550188"
    assert runner.specs[0].parameters["required"] == ["target"]  # the built-in's schema


async def test_a_declined_warm_transfer_is_the_llms_to_tell() -> None:
    leg = InMemoryLeg()
    leg.warm_transfer_result = {"ok": False, "error": "declined", "message": "They declined."}
    runner = _runner(leg)
    result = await runner.run("handover", {"target": "sip:desk@pbx.example.com"})
    assert result["error"] == "declined" and runner.transferred_to is None


async def test_bad_arguments_dial_nothing() -> None:
    leg = InMemoryLeg()
    runner = _runner(leg)
    for arguments in ({}, {"target": "desk"}, {"target": "+14155550188", "dtmf": "x"}):
        result = await runner.run("handover", arguments)
        assert result["error"] == "invalid_arguments", (arguments, result)
    assert leg.warm_transfers == [] and runner.transferred_to is None
