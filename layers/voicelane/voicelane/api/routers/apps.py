"""/v1/app: the API key's own app (another app's settings are out of a key's reach)."""

from __future__ import annotations

from fastapi import APIRouter

from voicelane.api.deps import ContainerDep, Reads, Writes
from voicelane.api.responses import AUTHENTICATED
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.apps import AppSettingsPatch, AppView

router = APIRouter(route_class=StrictJsonRoute, prefix="/v1/app", tags=["app"],
                   responses=AUTHENTICATED)


@router.get("", summary="The app of the API key and its toll-fraud settings")
def get_app(principal: Reads, c: ContainerDep) -> AppView:
    return AppView.of(c.apps.get_app(principal.app.app_id))


@router.patch("", summary="Set the app's calls-per-second cap or destination allow-list",
              description="Give `calls_per_second`, `destination_allow_list` or both; null "
                          "returns a setting to its default. The new values apply to the "
                          "next call placed (and to transfers on live calls).")
def update_app(body: AppSettingsPatch, principal: Writes, c: ContainerDep) -> AppView:
    return AppView.of(c.apps.update_settings(principal.app.app_id, body))
