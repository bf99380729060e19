"""Agents API contracts: /v1/agents.

A new agent's body is `voicelane.domain.agent.AgentSpec` itself (the same fields an inline agent
on a call or session takes), so it stays a domain model; what the API answers is `AgentView`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from voicelane.domain.agent import AgentSpec, DtmfEvents
from voicelane.domain.models import Agent


class AgentPatch(BaseModel):
    """Any subset of the agent fields; the merged agent is validated like a new one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    system_prompt: str | None = None
    voice: str | None = None
    language: str | None = None
    greeting: str | None = None
    model: str | None = None
    temperature: float | None = None
    first_speaker: str | None = None
    interruptible: bool | None = None
    endpointing_ms: int | None = None
    min_interruption_ms: int | None = None
    turn_detection: str | None = None
    turn_max_wait_ms: int | None = None
    max_duration_s: int | None = None
    inactivity_timeout_s: int | None = None
    inactivity_action: str | None = None
    recording: bool | None = None
    dtmf_events: DtmfEvents | None = None
    tools: list[dict[str, Any]] | None = None
    engines: dict[str, Any] | None = None
    script: dict[str, Any] | None = None


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
