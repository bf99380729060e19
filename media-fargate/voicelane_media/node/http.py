"""The node's HTTP apps: the internal endpoint (live commands from the control plane, Bearer
internal token, and an unauthenticated health check) and the public one (WebSocket media
streams, authenticated by their session tokens), each on its own port."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from voicelane_media.calls.commands import CommandError, conference_action, execute
from voicelane_media.calls.manager import CallManager
from voicelane_media.transports.webrtc.clients import ClientRegistry
from voicelane_media.transports.webrtc.endpoint import WhipEndpoint, WhipReply
from voicelane_media.transports.ws.endpoint import WsEndpoint


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_internal_app(manager: CallManager, internal_token: str, node_id: str) -> FastAPI:
    app = FastAPI(title="voicelane media node (internal)", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"ok": True, "node_id": node_id, "live_calls": manager.live_calls,
                "draining": manager.draining}

    async def authorized_body(request: Request) -> dict[str, Any] | JSONResponse:
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
        return body

    @app.post("/internal/calls/{call_id}/actions/{action}")
    async def action(call_id: str, action: str, request: Request) -> JSONResponse:
        body = await authorized_body(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            result = await execute(manager, call_id, action, body)
        except CommandError as exc:
            return _error(exc.status, exc.code, exc.message)
        return JSONResponse(result, status_code=202)

    @app.post("/internal/conferences/{conference_id}/actions/{action}")
    async def conference(conference_id: str, action: str, request: Request) -> JSONResponse:
        body = await authorized_body(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            result = await conference_action(manager, conference_id, action, body)
        except CommandError as exc:
            return _error(exc.status, exc.code, exc.message)
        return JSONResponse(result, status_code=202)

    return app


SOFTPHONE = Path(__file__).resolve().parents[1] / "static" / "softphone"


def _whip(reply: WhipReply, path: str) -> Response:
    if reply.code is not None:
        return _error(reply.status, reply.code, reply.body)
    headers = {"Location": f"{path}/{reply.location}"} if reply.location else {}
    if reply.etag:
        headers["ETag"] = f'"{reply.etag}"'
    media_type = "application/sdp" if reply.body else None
    return Response(reply.body, status_code=reply.status, media_type=media_type, headers=headers)


def create_public_app(endpoint: WsEndpoint, whip: WhipEndpoint,
                      clients: ClientRegistry | None = None) -> FastAPI:
    """What the load balancer forwards: media streams, WebRTC signalling (WHIP-style offer
    and DELETE), browser registrations (phone to browser) and a health check for its probes."""
    app = FastAPI(title="voicelane media node (public)", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"ok": True}

    if clients is not None:
        @app.websocket("/v1/media/clients")
        async def register(websocket: WebSocket) -> None:
            await clients.serve(websocket, websocket.query_params.get("token"))

        @app.post("/v1/media/clients/calls/{call_id}")
        async def answer_call(call_id: str, request: Request) -> Response:
            reply = await clients.answer(call_id, request.headers.get("authorization"),
                                         request.headers.get("content-type"),
                                         await request.body())
            return _whip(reply, request.url.path)

        @app.delete("/v1/media/clients/calls/{call_id}/{resource_id}")
        async def hang_up_call(call_id: str, resource_id: str) -> Response:
            return _whip(clients.delete(call_id, resource_id), "")

    @app.websocket("/v1/media/{connection_type}/{session_id}")
    async def media(websocket: WebSocket, connection_type: str, session_id: str) -> None:
        await endpoint.serve(websocket, connection_type, session_id,
                             websocket.query_params.get("token"))

    @app.post("/v1/media/webrtc/{session_id}")
    async def webrtc_offer(session_id: str, request: Request) -> Response:
        reply = await whip.offer(session_id, request.headers.get("authorization"),
                                 request.headers.get("content-type"), await request.body())
        return _whip(reply, request.url.path)

    @app.delete("/v1/media/webrtc/{session_id}/{resource_id}")
    async def webrtc_delete(session_id: str, resource_id: str) -> Response:
        return _whip(whip.delete(session_id, resource_id), "")

    # A page served elsewhere (the customer's site) signals here too: the token, not a
    # cookie, authenticates, so any origin may POST and read the Location.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["POST", "DELETE"],
                       allow_headers=["authorization", "content-type"],
                       expose_headers=["location", "etag"])
    app.mount("/softphone", StaticFiles(directory=SOFTPHONE, html=True), name="softphone")

    return app
