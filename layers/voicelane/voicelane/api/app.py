"""The FastAPI app factory. `create_app()` serves every route (uvicorn locally); a Lambda
function builds it with only its route group (`create_app(["calls"])`) behind Mangum."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from voicelane.api import errors

ROUTE_GROUPS: tuple[str, ...] = (
    "health", "calls", "conferences", "agents", "numbers", "sessions", "trunks", "webhooks",
    "events", "apps",
)


def all_groups() -> tuple[str, ...]:
    """Every route group, in the order the full app (and docs/openapi.json) lists them."""
    return ROUTE_GROUPS


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
