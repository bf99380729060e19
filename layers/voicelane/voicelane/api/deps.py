"""Request dependencies: the container, the authenticated app and rate limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Response, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from voicelane.container import Container, get_container
from voicelane.domain.models import ApiKey, App
from voicelane.services.ratelimit import RouteClass

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer sk_test_... or sk_live_...")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="sk_test_... or sk_live_...")


@dataclass(frozen=True)
class Principal:
    app: App
    key: ApiKey


def container() -> Container:
    return get_container()


ContainerDep = Annotated[Container, Depends(container)]


def authenticate(
    c: ContainerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    token = bearer.credentials if bearer else api_key
    app, key = c.apps.authenticate(token)
    return Principal(app=app, key=key)


def rate_limited(route: RouteClass) -> Callable[..., Principal]:
    """A dependency that authenticates, counts the request and sets RateLimit headers."""

    def dep(
        c: ContainerDep, response: Response, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        state = c.rate_limiter.check(principal.app, principal.key, route)
        response.headers["RateLimit-Limit"] = str(state.limit)
        response.headers["RateLimit-Remaining"] = str(state.remaining)
        response.headers["RateLimit-Reset"] = str(state.reset_s)
        return principal

    return dep


Reads = Annotated[Principal, Depends(rate_limited(RouteClass.READS))]
Lists = Annotated[Principal, Depends(rate_limited(RouteClass.LISTS))]
Writes = Annotated[Principal, Depends(rate_limited(RouteClass.WRITES))]
CreateCall = Annotated[Principal, Depends(rate_limited(RouteClass.CREATE_CALL))]
Sessions = Annotated[Principal, Depends(rate_limited(RouteClass.SESSIONS))]
