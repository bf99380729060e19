"""Agents API contracts: /v1/agents.

A new agent's body is `voicelane.domain.agent.AgentSpec` itself (the same fields an inline agent
on a call or session takes), so it stays a domain model; what the API answers is `AgentView`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, StrictBool, StrictFloat
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from voicelane.domain.agent import AgentSpec, DtmfEvents
from voicelane.domain.models import Agent
from voicelane.domain.storable import JsonInt


class AgentPatch(BaseModel):
    """Any subset of the agent fields; the merged agent is validated like a new one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    system_prompt: str | None = None
    voice: str | None = None
    language: str | None = None
    greeting: str | None = None
    model: str | None = None
    temperature: StrictFloat | None = None
    first_speaker: str | None = None
    interruptible: StrictBool | None = None
    endpointing_ms: JsonInt | None = None
    min_interruption_ms: JsonInt | None = None
    turn_detection: str | None = None
    turn_max_wait_ms: JsonInt | None = None
    max_duration_s: JsonInt | None = None
    inactivity_timeout_s: JsonInt | None = None
    inactivity_action: str | None = None
    recording: StrictBool | None = None
    dtmf_events: DtmfEvents | None = None
    tools: list[dict[str, Any]] | None = None
    engines: dict[str, Any] | None = None
    script: dict[str, Any] | None = None
    preemptive_generation: StrictBool | None = None
    noise_suppression: str | None = None
    background_voice_gate: StrictBool | None = None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The merged agent is validated as an AgentSpec, so the document shows AgentSpec's
        # rules (ranges, patterns, strict types) with every field optional and not null.
        spec = handler.resolve_ref_schema(handler(AgentSpec.__pydantic_core_schema__))
        properties = {name: {k: v for k, v in prop.items() if k != "default"}
                      for name, prop in spec["properties"].items()}
        return {"type": "object", "title": cls.__name__, "description": cls.__doc__,
                "properties": properties, "additionalProperties": False}
    machine_detection: dict[str, Any] | None = None


class AgentView(AgentSpec):
    """An agent as the API shows it: its spec plus id, app and timestamps."""

    id: str
    app_id: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, agent: Agent) -> AgentView:
        data = agent.model_dump()
        data["id"] = data.pop("agent_id")
        return cls.model_validate(data)


class AgentList(BaseModel):
    """The app's agents."""

    data: list[AgentView]
