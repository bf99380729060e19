"""The one table mapping domain errors to HTTP statuses (no web framework imported: the
events-ws function answers WebSocket commands with the same statuses)."""

from __future__ import annotations

from voicelane.domain import errors as e

STATUS_BY_ERROR: tuple[tuple[type[e.VoicelaneError], int], ...] = (
    (e.Unauthenticated, 401),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.IdempotencyConflict, 409),
    (e.Conflict, 409),
    (e.ValidationFailed, 422),
    (e.NotSupported, 422),
    (e.LimitExceeded, 429),
    (e.RateLimited, 429),
    (e.Unavailable, 503),
    (e.VoicelaneError, 500),
)


def status_for(exc: e.VoicelaneError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500
