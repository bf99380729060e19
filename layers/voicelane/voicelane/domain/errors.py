"""The one exception hierarchy of the `voicelane` package.

Every error carries a machine-readable `code`; the API maps each class to an HTTP status in
one table (voicelane.api.errors).
"""

from __future__ import annotations

from typing import Any


class VoicelaneError(Exception):
    """Base of every error the package raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class ValidationFailed(VoicelaneError):
    code = "validation_error"


class Unauthenticated(VoicelaneError):
    code = "unauthenticated"


class Forbidden(VoicelaneError):
    code = "forbidden"


class NotFound(VoicelaneError):
    code = "not_found"


class Conflict(VoicelaneError):
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class LimitExceeded(VoicelaneError):
    """A quota such as the concurrent-call cap (not a rate limit). ``retry_after_s`` is the
    API's Retry-After: a slot frees when one of the app's calls ends, which no one can
    foretell, so a short fixed wait."""

    code = "limit_exceeded"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None,
                 retry_after_s: int = 5) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after_s = retry_after_s


class RateLimited(VoicelaneError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, limit: int, remaining: int = 0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.limit = limit
        self.remaining = remaining


class NotSupported(VoicelaneError):
    code = "not_supported"


class Unavailable(VoicelaneError):
    """A dependency (media node, AWS service) cannot serve the request now: HTTP 503 with
    ``retry_after_s`` as Retry-After (a short outage or throttle, not the request's fault)."""

    code = "unavailable"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None,
                 retry_after_s: int = 2) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after_s = retry_after_s


class StaleWrite(Conflict):
    """A conditional write lost: the record changed since it was read. Re-read and retry."""

    code = "stale_write"
