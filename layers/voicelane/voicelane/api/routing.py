"""The route class of every router: a JSON body is RFC 8259 JSON or it is not JSON at all.

Python's `json.loads` (what FastAPI uses) also takes UTF-16/UTF-32 bodies and the literals
NaN, Infinity and -Infinity, and FastAPI answers a body it cannot decode with 400
`http_error` while it answers malformed JSON with 422. Here every body that is not UTF-8
JSON, whatever the reason, fails the same way: 422 `validation_error` with a detail of type
`json_invalid` (see voicelane.api.errors).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _no_constant(name: str) -> Any:
    # json.loads calls this for NaN, Infinity and -Infinity, which JSON does not have.
    raise ValueError(f"{name} is not a JSON value")


def parse_json(body: bytes) -> Any:
    """`body` as JSON (RFC 8259: UTF-8, no NaN/Infinity); json.JSONDecodeError otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from exc
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(str(exc), text, 0) from exc


class StrictJsonRequest(Request):
    """A request whose `.json()` is `parse_json` of the body."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """An APIRoute that parses its body with `StrictJsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
