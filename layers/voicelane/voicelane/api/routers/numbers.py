"""/v1/numbers"""

from __future__ import annotations

from fastapi import APIRouter, Response

from voicelane.api.deps import ContainerDep, Lists, Reads, Writes
from voicelane.api.responses import AUTHENTICATED, errors
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.numbers import CreateNumberRequest, NumberList, NumberView
from voicelane.domain.routing import ROUTING_CODES

router = APIRouter(route_class=StrictJsonRoute, prefix="/v1/numbers", tags=["numbers"], responses=AUTHENTICATED)


@router.post("", status_code=201, summary="Register a number",
             responses=errors(e409=["number_taken"],
                              e422=["invalid_phone_number", "agent_not_found",
                                    "stream_url_not_allowed", "webhook_url_not_allowed",
                                    "stream_agent_conflict", "client_conflict",
                                    *ROUTING_CODES]))
def create_number(body: CreateNumberRequest, principal: Writes, c: ContainerDep) -> NumberView:
    return NumberView.of(c.numbers.create(principal.app, body.number, body.agent_id,
                                                body.stream, body.command_fallback,
                                                body.routing, body.client))


@router.get("", summary="List numbers")
def list_numbers(principal: Lists, c: ContainerDep) -> NumberList:
    return NumberList(data=[NumberView.of(n) for n in c.numbers.list(principal.app)])


@router.get("/{number}", summary="Get a number", responses=errors(e404=["number_not_found"]))
def get_number(number: str, principal: Reads, c: ContainerDep) -> NumberView:
    return NumberView.of(c.numbers.get(principal.app, number))


@router.delete("/{number}", status_code=204, summary="Release a number",
               responses=errors(e404=["number_not_found"]))
def delete_number(number: str, principal: Writes, c: ContainerDep) -> Response:
    c.numbers.delete(principal.app, number)
    return Response(status_code=204)
