"""/v1/trunks"""

from __future__ import annotations

from fastapi import APIRouter, Response

from voicelane.api.deps import ContainerDep, Lists, Reads, Writes
from voicelane.api.responses import AUTHENTICATED, errors
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.trunks import CreateTrunkRequest, TrunkList, TrunkView, UpdateTrunkRequest

router = APIRouter(route_class=StrictJsonRoute, prefix="/v1/trunks", tags=["trunks"], responses=AUTHENTICATED)


@router.post("", status_code=201, summary="Add a SIP trunk")
def create_trunk(body: CreateTrunkRequest, principal: Writes, c: ContainerDep) -> TrunkView:
    return TrunkView.of(c.trunks.create(principal.app, body))


@router.get("", summary="List SIP trunks (in dialling order)")
def list_trunks(principal: Lists, c: ContainerDep) -> TrunkList:
    return TrunkList(data=[TrunkView.of(t) for t in c.trunks.list_trunks(principal.app)])


@router.get("/{trunk_id}", summary="Get a SIP trunk",
            responses=errors(e404=["trunk_not_found"]))
def get_trunk(trunk_id: str, principal: Reads, c: ContainerDep) -> TrunkView:
    return TrunkView.of(c.trunks.get(principal.app, trunk_id))


@router.patch("/{trunk_id}", summary="Change a SIP trunk",
              responses=errors(e404=["trunk_not_found"]))
def update_trunk(trunk_id: str, body: UpdateTrunkRequest, principal: Writes,
                 c: ContainerDep) -> TrunkView:
    return TrunkView.of(c.trunks.update(principal.app, trunk_id, body))


@router.delete("/{trunk_id}", status_code=204, summary="Remove a SIP trunk",
               responses=errors(e404=["trunk_not_found"]))
def delete_trunk(trunk_id: str, principal: Writes, c: ContainerDep) -> Response:
    c.trunks.delete(principal.app, trunk_id)
    return Response(status_code=204)
