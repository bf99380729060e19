"""The one table mapping domain errors to HTTP statuses, and the one error shape."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voicelane.api.status import status_for
from voicelane.domain import errors as e

log = logging.getLogger("voicelane.api")

def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def install(app: FastAPI) -> None:
    @app.exception_handler(e.VoicelaneError)
    async def _domain(_: Request, exc: e.VoicelaneError) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(exc, e.RateLimited):
            headers = {
                "Retry-After": str(exc.retry_after_s),
                "RateLimit-Limit": str(exc.limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(exc.retry_after_s),
            }
        elif isinstance(exc, e.LimitExceeded | e.Unavailable):
            # a slot frees when a call ends; a dependency comes back: try again soon
            headers = {"Retry-After": str(exc.retry_after_s)}
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=status_for(exc),
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
            for err in exc.errors()
        ]
        return JSONResponse(
            error_body("validation_error", "the request is not valid", details), status_code=422
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Still the one error shape; the traceback goes to the log, not to the client.
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "an internal error occurred"), status_code=500
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "route_not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110 15.5.6: every method of the resource, not only those of the route
            # Starlette happened to match first (GET and POST /v1/calls are two routes).
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """The methods the app serves at the request's path, sorted: those the OpenAPI document
    lists for the matching path template, and those of the app's own undocumented routes."""
    path = request.url.path
    methods: set[str] = set()
    # The most literal template names the resource (/v1/webhooks/call-url-secret, not
    # /v1/webhooks/{webhook_id}).
    matching = sorted((template.count("{"), template)
                      for template in request.app.openapi().get("paths", {})
                      if _template_re(template).fullmatch(path))
    for params, template in matching:
        if params > matching[0][0]:
            break
        operations = request.app.openapi()["paths"][template]
        methods |= {m.upper() for m in operations if m.upper() in _HTTP_METHODS}
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


_HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


@functools.lru_cache(maxsize=256)
def _template_re(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))
