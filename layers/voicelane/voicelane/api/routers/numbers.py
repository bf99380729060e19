"""/v1/numbers"""

from __future__ import annotations

from fastapi import APIRouter, Response

from voicelane.api.deps import ContainerDep, Lists, Reads, Writes
from voicelane.contracts.numbers import CreateNumberRequest, NumberList, NumberView

router = APIRouter(prefix="/v1/numbers", tags=["numbers"])


@router.post("", status_code=201, summary="Register a number")
def create_number(body: CreateNumberRequest, principal: Writes, c: ContainerDep) -> NumberView:
    return NumberView.of(c.numbers.create(principal.app, body.number, body.agent_id,
                                                body.stream, body.command_fallback))


@router.get("", summary="List numbers")
def list_numbers(principal: Lists, c: ContainerDep) -> NumberList:
    return NumberList(data=[NumberView.of(n) for n in c.numbers.list(principal.app)])


@router.get("/{number}", summary="Get a number")
def get_number(number: str, principal: Reads, c: ContainerDep) -> NumberView:
    return NumberView.of(c.numbers.get(principal.app, number))


@router.delete("/{number}", status_code=204, summary="Release a number")
def delete_number(number: str, principal: Writes, c: ContainerDep) -> Response:
    c.numbers.delete(principal.app, number)
    return Response(status_code=204)
