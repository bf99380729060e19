"""The softphone's dev-only session helper: in local dev the page mints its own sessions and
client tokens here, for the dev app, without an API key in the browser.

It exists only on the local platform's API (``LocalPlatform`` mounts it; the Lambda app never
does) and only while ``VOICELANE_LOCAL`` is true, so production settings cannot enable it. In
production the customer's backend does the same with its API key (``POST /v1/sessions``,
``POST /v1/client_tokens``) and hands the page the result.

``POST /dev/softphone/session`` with ``{"to": "+1..."}`` (a phone; ``from`` defaults to the
dev app's first number) or ``{"agent": {...}}`` answers the session view;
``POST /dev/softphone/client_token`` with ``{"identity": "alice"}`` the client token. Bodies
are read as JSON whatever their content type, so the page sends them as simple requests (no
CORS preflight) from the node's origin.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from voicelane.api.status import status_for
from voicelane.container import get_container
from voicelane.contracts.sessions import CreateClientTokenRequest, CreateSessionRequest
from voicelane.domain.errors import NotFound, VoicelaneError
from voicelane.settings import get_settings

CORS = {"Access-Control-Allow-Origin": "*"}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=CORS)


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def dev_softphone_router(app_id: str) -> APIRouter:
    """The helper for the dev app ``app_id``."""
    router = APIRouter(prefix="/dev/softphone", include_in_schema=False)

    def app_or_error() -> Any:
        if not get_settings().local:
            return _error(404, "not_found", "the dev helper exists in local dev only")
        try:
            return get_container().apps.get_app(app_id)
        except NotFound:
            return _error(404, "app_not_found", "no dev app")

    @router.post("/session")
    async def session(request: Request) -> JSONResponse:
        app = app_or_error()
        if isinstance(app, JSONResponse):
            return app
        body = await _body(request)
        if body is None:
            return _error(422, "invalid_json", "the body must be a JSON object")
        container = get_container()
        if body.get("to") and not body.get("from"):
            numbers = container.numbers.list(app)
            if numbers:
                body["from"] = numbers[0].number
        try:
            req = CreateSessionRequest.model_validate({"connection_type": "webrtc", **body})
            view = container.sessions.create(app, req)
        except ValidationError as exc:
            return _error(422, "validation_error", str(exc.errors()[0]["msg"]))
        except VoicelaneError as exc:
            return _error(status_for(exc), exc.code, exc.message)
        return JSONResponse(view.model_dump(mode="json", exclude_none=True), status_code=201,
                            headers=CORS)

    @router.post("/client_token")
    async def client_token(request: Request) -> JSONResponse:
        app = app_or_error()
        if isinstance(app, JSONResponse):
            return app
        body = await _body(request)
        try:
            req = CreateClientTokenRequest.model_validate(body or {})
        except ValidationError as exc:
            return _error(422, "validation_error", str(exc.errors()[0]["msg"]))
        view = get_container().sessions.client_token(app, req)
        return JSONResponse(view.model_dump(mode="json"), status_code=201, headers=CORS)

    return router


def softphone_url(platform: Any) -> str | None:
    """The local softphone page with its dev helper (``#dev=<API>``), or None without a
    local media node (the page is served by the node's public listener)."""
    for node in getattr(platform, "extras", []):
        public = getattr(node, "public_url", None)
        if isinstance(public, str):
            page = public.replace("ws://", "http://").removesuffix("/v1/media")
            return f"{page}/softphone/#dev={platform.api_url}"
    return None
