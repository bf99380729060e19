"""/v1/numbers"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from voicelane.api.deps import ContainerDep, Lists, Reads, Writes

router = APIRouter(prefix="/v1/numbers", tags=["numbers"])


class CreateNumberRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(description="E.164, e.g. +14155550100")
    agent_id: str | None = Field(default=None, description="Agent that answers inbound calls")


@router.post("", status_code=201, response_model=None, summary="Register a number")
def create_number(body: CreateNumberRequest, principal: Writes, c: ContainerDep) -> dict[str, Any]:
    return c.numbers.create(principal.app, body.number, body.agent_id).model_dump(mode="json")


@router.get("", response_model=None, summary="List numbers")
def list_numbers(principal: Lists, c: ContainerDep) -> dict[str, Any]:
    return {"data": [n.model_dump(mode="json") for n in c.numbers.list(principal.app)]}


@router.get("/{number}", response_model=None, summary="Get a number")
def get_number(number: str, principal: Reads, c: ContainerDep) -> dict[str, Any]:
    return c.numbers.get(principal.app, number).model_dump(mode="json")


@router.delete("/{number}", status_code=204, summary="Release a number")
def delete_number(number: str, principal: Writes, c: ContainerDep) -> Response:
    c.numbers.delete(principal.app, number)
    return Response(status_code=204)
