"""The node's internal HTTP endpoint: live commands from the control plane (Bearer internal
token) and an unauthenticated health check."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from voicelane_media.calls.commands import CommandError, execute
from voicelane_media.calls.manager import CallManager


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_internal_app(manager: CallManager, internal_token: str, node_id: str) -> FastAPI:
    app = FastAPI(title="voicelane media node (internal)", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "node_id": node_id, "live_calls": manager.live_calls,
                "draining": manager.draining}

    @app.post("/internal/calls/{call_id}/actions/{action}")
    async def action(call_id: str, action: str, request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not token or not hmac.compare_digest(token.encode(), internal_token.encode()):
            return _error(401, "unauthenticated", "a valid internal bearer token is required")
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            return _error(422, "invalid_json", "the body must be a JSON object")
        if not isinstance(body, dict):
            return _error(422, "invalid_json", "the body must be a JSON object")
        try:
            result = await execute(manager, call_id, action, body)
        except CommandError as exc:
            return _error(exc.status, exc.code, exc.message)
        return JSONResponse(result, status_code=202)

    return app
