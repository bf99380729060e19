"""/v1/agents"""

from __future__ import annotations

from fastapi import APIRouter, Response

from voicelane.api.deps import ContainerDep, Lists, Reads, Writes
from voicelane.api.responses import AGENT_RULES, AUTHENTICATED, errors
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.agents import AgentList, AgentPatch, AgentView
from voicelane.domain.agent import AgentSpec

router = APIRouter(route_class=StrictJsonRoute, prefix="/v1/agents", tags=["agents"], responses=AUTHENTICATED)


@router.post("", status_code=201, summary="Create an agent",
             responses=errors(e422=AGENT_RULES))
def create_agent(body: AgentSpec, principal: Writes, c: ContainerDep) -> AgentView:
    return AgentView.of(c.agents.create(principal.app, body))


@router.get("", summary="List agents")
def list_agents(principal: Lists, c: ContainerDep) -> AgentList:
    return AgentList(data=[AgentView.of(a) for a in c.agents.list(principal.app)])


@router.get("/{agent_id}", summary="Get an agent", responses=errors(404, e404=["agent_not_found"]))
def get_agent(agent_id: str, principal: Reads, c: ContainerDep) -> AgentView:
    return AgentView.of(c.agents.get(principal.app, agent_id))


@router.patch("/{agent_id}", summary="Update an agent",
              responses=errors(e404=["agent_not_found"],
                               e422=AGENT_RULES))
def update_agent(agent_id: str, body: AgentPatch, principal: Writes, c: ContainerDep) -> AgentView:
    changes = body.model_dump(exclude_unset=True)
    return AgentView.of(c.agents.update(principal.app, agent_id, changes))


@router.delete("/{agent_id}", status_code=204, summary="Delete an agent",
               responses=errors(e404=["agent_not_found"]))
def delete_agent(agent_id: str, principal: Writes, c: ContainerDep) -> Response:
    c.agents.delete(principal.app, agent_id)
    return Response(status_code=204)
