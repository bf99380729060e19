"""WebSocket /v1/events/stream: the app's events as they happen (served by the local API; in
AWS an API Gateway WebSocket API does this, see functions/events_ws.py).

Authenticate with `Authorization: Bearer sk_...` or `?token=sk_...`; optional `?types=call.*,`
filters like a webhook endpoint. Each message is the webhook payload (docs/webhooks.md).
The stream is best effort (no replay): webhooks are the reliable path.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from voicelane.api.routing import StrictJsonRoute
from voicelane.container import get_container
from voicelane.domain.errors import Unauthenticated
from voicelane.domain.webhooks import event_matches
from voicelane.services.event_stream import local_broker

router = APIRouter(route_class=StrictJsonRoute, tags=["events"])


@router.websocket("/v1/events/stream")
async def event_stream(ws: WebSocket, token: str | None = None, types: str = "*") -> None:
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    try:
        app, _ = await run_in_threadpool(get_container().apps.authenticate, token)
    except Unauthenticated:
        await ws.close(code=4401, reason="a valid API key is required")
        return
    filters = [t.strip() for t in types.split(",") if t.strip()] or ["*"]
    broker = local_broker()
    await ws.accept()
    queue = broker.subscribe(app.app_id)
    try:
        while True:
            payload = await queue.get()
            if event_matches(str(payload.get("type")), filters):
                await ws.send_json(payload)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        broker.unsubscribe(app.app_id, queue)
