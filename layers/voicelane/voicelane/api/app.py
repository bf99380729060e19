"""The FastAPI app factory. `create_app()` serves every route (uvicorn locally); a Lambda
function builds it with only its route group (`create_app(["calls"])`) behind Mangum."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from voicelane.api import errors

ROUTE_GROUPS: tuple[str, ...] = ("health", "calls", "agents", "numbers", "sessions", "trunks", "webhooks", "events")
_extra_groups: list[str] = []


def register_group(name: str) -> None:
    """Add a route group module `voicelane.api.routers.<name>` (used by other packages)."""
    if name not in _extra_groups:
        _extra_groups.append(name)


def all_groups() -> tuple[str, ...]:
    return ROUTE_GROUPS + tuple(g for g in _extra_groups if g not in ROUTE_GROUPS)


def create_app(groups: list[str] | tuple[str, ...] | None = None) -> FastAPI:
    app = FastAPI(
        title="Voicelane API",
        version="0.1.0",
        description="Programmable voice and AI voice agents in your own AWS account.",
    )
    errors.install(app)
    for group in groups or all_groups():
        module = importlib.import_module(f"voicelane.api.routers.{group}")
        app.include_router(module.router)
    return app
