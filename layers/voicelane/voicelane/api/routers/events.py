"""WebSocket /v1/events/stream: the app's events as they happen, and its commands the other way
(served by the local API; in AWS an API Gateway WebSocket API does this, see
functions/events_ws.py).

Authenticate with `Authorization: Bearer sk_...` or `?token=sk_...`; optional `?types=call.*,`
filters like a webhook endpoint. Each event message is the webhook payload (docs/webhooks.md).
Messages from the app (commands, subscriptions) are answered in order
(services/stream_commands.py). The stream is best effort (no replay): webhooks are the
reliable path.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from voicelane.api.routing import StrictJsonRoute
from voicelane.api.status import status_for
from voicelane.container import get_container
from voicelane.domain.errors import Unauthenticated
from voicelane.services.event_stream import local_broker
from voicelane.services.stream_commands import StreamSession, command_counter, reply_to

router = APIRouter(route_class=StrictJsonRoute, tags=["events"])


@router.websocket("/v1/events/stream")
async def event_stream(ws: WebSocket, token: str | None = None, types: str = "*") -> None:
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    c = get_container()
    try:
        app, key = await run_in_threadpool(c.apps.authenticate, token)
    except Unauthenticated:
        await ws.close(code=4401, reason="a valid API key is required")
        return
    filters = [t.strip() for t in types.split(",") if t.strip()] or ["*"]
    session = StreamSession(app, c.commands, c.calls, filters,
                            count_command=command_counter(c.rate_limiter, c.apps, app, key))
    broker = local_broker()
    await ws.accept()
    queue = broker.subscribe(app.app_id)
    lock = asyncio.Lock()  # one sender at a time: events and replies share the socket

    async def send_events() -> None:
        while True:
            payload = await queue.get()
            if session.wants(payload):
                async with lock:
                    await ws.send_json(payload)

    sender = asyncio.ensure_future(send_events())
    try:
        while True:
            raw = await ws.receive_text()
            reply = await run_in_threadpool(reply_to, session, raw, status_for)
            async with lock:
                await ws.send_json(reply)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sender.cancel()
        broker.unsubscribe(app.app_id, queue)
