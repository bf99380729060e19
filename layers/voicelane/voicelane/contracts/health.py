"""GET /healthz."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    """Liveness: the API answers."""

    status: str = "ok"
