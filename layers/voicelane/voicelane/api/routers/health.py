"""/healthz: unauthenticated liveness."""

from __future__ import annotations

from fastapi import APIRouter

from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.health import Health

router = APIRouter(route_class=StrictJsonRoute, tags=["health"])


@router.get("/healthz", summary="Liveness")
def healthz() -> Health:
    return Health(status="ok")
