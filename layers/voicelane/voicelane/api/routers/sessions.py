"""/v1/sessions"""

from __future__ import annotations

from fastapi import APIRouter

from voicelane.api.deps import ContainerDep, Reads, Sessions
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.sessions import CreateSessionRequest, SessionView

router = APIRouter(route_class=StrictJsonRoute, prefix="/v1/sessions", tags=["sessions"])


@router.post("", status_code=201, summary="Create a media session")
def create_session(body: CreateSessionRequest, principal: Sessions, c: ContainerDep) -> SessionView:
    return c.sessions.create(principal.app, body)


@router.get("/{session_id}", summary="Get a session")
def get_session(session_id: str, principal: Reads, c: ContainerDep) -> SessionView:
    return c.sessions.get(principal.app, session_id)
