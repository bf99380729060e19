"""/v1/agents"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from voicelane.api.deps import ContainerDep, Lists, Reads, Writes
from voicelane.domain.agent import AgentSpec
from voicelane.domain.models import Agent

router = APIRouter(prefix="/v1/agents", tags=["agents"])


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
    max_duration_s: int | None = None
    inactivity_timeout_s: int | None = None
    inactivity_action: str | None = None
    recording: bool | None = None
    tools: list[dict[str, Any]] | None = None
    engines: dict[str, Any] | None = None
    script: dict[str, Any] | None = None


def _view(agent: Agent) -> dict[str, Any]:
    data = agent.model_dump(mode="json")
    data["id"] = data.pop("agent_id")
    return data


@router.post("", status_code=201, response_model=None, summary="Create an agent")
def create_agent(body: AgentSpec, principal: Writes, c: ContainerDep) -> dict[str, Any]:
    return _view(c.agents.create(principal.app, body))


@router.get("", response_model=None, summary="List agents")
def list_agents(principal: Lists, c: ContainerDep) -> dict[str, Any]:
    return {"data": [_view(a) for a in c.agents.list(principal.app)]}


@router.get("/{agent_id}", response_model=None, summary="Get an agent")
def get_agent(agent_id: str, principal: Reads, c: ContainerDep) -> dict[str, Any]:
    return _view(c.agents.get(principal.app, agent_id))


@router.patch("/{agent_id}", response_model=None, summary="Update an agent")
def update_agent(agent_id: str, body: AgentPatch, principal: Writes, c: ContainerDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return _view(c.agents.update(principal.app, agent_id, changes))


@router.delete("/{agent_id}", status_code=204, summary="Delete an agent")
def delete_agent(agent_id: str, principal: Writes, c: ContainerDep) -> Response:
    c.agents.delete(principal.app, agent_id)
    return Response(status_code=204)
