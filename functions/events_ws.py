"""events-ws: connection management of the live event stream's API Gateway WebSocket API.

Routes: `$connect` authenticates the API key (`Authorization: Bearer sk_...` header or `token`
query parameter) and stores the connection under its app; `$disconnect` removes it; `$default`
answers pings. The event router pushes each event to the app's connections
(ApiGatewayLiveStream), so this function never sends events itself.
"""

from __future__ import annotations

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
            app, _ = c.apps.authenticate(token)
        except Unauthenticated:
            return {"statusCode": 401, "body": "a valid API key is required"}
        connections.add(app.app_id, connection_id)
        return {"statusCode": 200}
    if route == "$disconnect":
        connections.remove(connection_id)
        return {"statusCode": 200}
    return {"statusCode": 200, "body": "pong"}


handler = instrument(obs, _handle)
