"""/v1/sessions"""

from __future__ import annotations

from fastapi import APIRouter

from voicelane.api.deps import ContainerDep, Reads, Sessions
from voicelane.api.responses import AGENT_RULES, AUTHENTICATED, errors
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.sessions import (
    ClientTokenView,
    CreateClientTokenRequest,
    CreateSessionRequest,
    SessionView,
)

router = APIRouter(route_class=StrictJsonRoute, tags=["sessions"], responses=AUTHENTICATED)
sessions = APIRouter(route_class=StrictJsonRoute, prefix="/v1/sessions", tags=["sessions"],
                     responses=AUTHENTICATED)


@sessions.post("", status_code=201, summary="Create a media session",
             responses=errors(e403=["destination_not_allowed"],
                              e422=["channel_not_supported", "agent_conflict", "agent_not_found",
                                    "webhook_url_not_allowed", "to_needs_webrtc",
                                    "to_and_from_required", "to_agent_conflict",
                                    "invalid_phone_number", "from_number_not_owned",
                                    *AGENT_RULES],
                              e429=["concurrency_limit_exceeded"]))
def create_session(body: CreateSessionRequest, principal: Sessions, c: ContainerDep) -> SessionView:
    return c.sessions.create(principal.app, body)


@sessions.get("/{session_id}", summary="Get a session",
            responses=errors(e404=["session_not_found"]))
def get_session(session_id: str, principal: Reads, c: ContainerDep) -> SessionView:
    return c.sessions.get(principal.app, session_id)


client_tokens = APIRouter(route_class=StrictJsonRoute, prefix="/v1/client_tokens",
                          tags=["sessions"], responses=AUTHENTICATED)


@client_tokens.post("", status_code=201, summary="Mint a browser identity's client token")
def create_client_token(body: CreateClientTokenRequest, principal: Sessions,
                        c: ContainerDep) -> ClientTokenView:
    """Your backend calls this for a signed-in user; the browser registers with the token on
    the media node and rings for calls to numbers whose ``client`` is that identity."""
    return c.sessions.client_token(principal.app, body)


router.include_router(sessions)
router.include_router(client_tokens)  # the same route group (api-sessions) serves both
