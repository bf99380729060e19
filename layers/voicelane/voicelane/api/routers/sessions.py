"""/v1/sessions"""

from __future__ import annotations

from fastapi import APIRouter

from voicelane.api.deps import ContainerDep, Reads, Sessions
from voicelane.api.responses import AGENT_RULES, AUTHENTICATED, errors
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.sessions import CreateSessionRequest, SessionView

router = APIRouter(route_class=StrictJsonRoute, prefix="/v1/sessions", tags=["sessions"], responses=AUTHENTICATED)


@router.post("", status_code=201, summary="Create a media session",
             responses=errors(e422=["channel_not_supported", "agent_conflict", "agent_not_found",
                                    "webhook_url_not_allowed", *AGENT_RULES],
                              e429=["concurrency_limit_exceeded"]))
def create_session(body: CreateSessionRequest, principal: Sessions, c: ContainerDep) -> SessionView:
    return c.sessions.create(principal.app, body)


@router.get("/{session_id}", summary="Get a session",
            responses=errors(e404=["session_not_found"]))
def get_session(session_id: str, principal: Reads, c: ContainerDep) -> SessionView:
    return c.sessions.get(principal.app, session_id)
