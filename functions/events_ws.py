"""events-ws: the live event stream's API Gateway WebSocket API.

Routes: `$connect` authenticates the API key (`Authorization: Bearer sk_...` header or `token`
query parameter) and stores the connection under its app; `$disconnect` removes it; `$default`
runs the app's messages (commands, subscriptions: services/stream_commands.py), each reply
being the route's response (a two-way route); any other frame is answered `pong`. The
event router pushes each event to the app's connections that follow its call
(ApiGatewayLiveStream), so this function never sends events itself.
"""

from __future__ import annotations

import json
from typing import Any

from voicelane.lambda_runtime import instrument, observability

obs = observability("events-ws")


def _handle(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    from voicelane.adapters.dynamo.ws_connections import DynamoWsConnections
    from voicelane.container import get_container
    from voicelane.domain.errors import Unauthenticated

    ctx = event.get("requestContext") or {}
    route = ctx.get("routeKey")
    connection_id = str(ctx.get("connectionId", ""))
    c = get_container()
    connections = DynamoWsConnections(c.table)
    obs.count(f"Route_{str(route).strip('$') or 'none'}")
    if route == "$connect":
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        auth = str(headers.get("authorization", ""))
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        token = token or (event.get("queryStringParameters") or {}).get("token")
        try:
            app, key = c.apps.authenticate(token)
        except Unauthenticated:
            return {"statusCode": 401, "body": "a valid API key is required"}
        connections.add(app.app_id, connection_id, key.key_id)
        return {"statusCode": 200}
    if route == "$disconnect":
        connections.remove(connection_id)
        return {"statusCode": 200}
    return _message(c, connections, connection_id, str(event.get("body") or ""))


def _message(c: Any, connections: Any, connection_id: str, raw: str) -> dict[str, Any]:
    from voicelane.api.status import status_for
    from voicelane.domain.errors import NotFound
    from voicelane.services.stream_commands import (
        StreamSession,
        command_counter,
        is_message,
        reply_to,
    )

    if not is_message(raw):
        return {"statusCode": 200, "body": "pong"}
    known = connections.lookup(connection_id)
    try:
        app = c.apps.get_app(known[0]) if known else None
    except NotFound:
        app = None
    if known is None or app is None:
        return {"statusCode": 403, "body": "unknown connection"}
    counter = command_counter(c.rate_limiter, c.apps, app, known[2]) if known[2] else None
    session = StreamSession(app, c.commands, c.calls, call_ids=known[1], count_command=counter)
    reply = reply_to(session, raw, status_for)
    if session.call_ids != known[1]:
        connections.follow(app.app_id, connection_id, session.call_ids)
    obs.count(f"Message_{reply['type']}")
    return {"statusCode": 200, "body": json.dumps(reply)}  # $default's route response


handler = instrument(obs, _handle)
