"""api-health: GET /healthz (no auth) and GET /openapi.json, the whole API's OpenAPI document.

This function serves only the `health` group, but /openapi.json must describe every route
group: the full document is built once, on its first request.
"""

from functools import cache
from typing import Any

from voicelane.lambda_runtime import http_handler

handler, app = http_handler(["health"], service="api-health")


@cache
def _full_openapi() -> dict[str, Any]:
    from voicelane.openapi import document

    return document()


app.openapi = _full_openapi
