"""What every resource's contract shares: the error shape, ISO 8601 dates and the formats
the API documents (E.164, identifiers, cursors)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from voicelane.domain.phone import E164_RE
from voicelane.domain.webhooks import URL_PATTERN

E164_PATTERN = E164_RE.pattern
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"
URL_SCHEMA: dict[str, Any] = {"format": "uri", "pattern": URL_PATTERN}

# JSON Schema for "a side on the pstn channel (the default) is an E.164 number".
PSTN_IS_E164: list[Any] = [
    {"if": {"properties": {f"{side}_channel": {"const": "pstn"}}},
     "then": {"properties": {side: {"pattern": E164_RE.pattern}}}}
    for side in ("from", "to")
]

# ISO 8601 as RFC 3339 writes it: a date, or a date and time with an optional offset (a time
# without one is UTC). Not a Unix time: pydantic alone reads "0.5" as 1970-01-01T00:00:00.5Z.
_ISO_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?"
)


def _iso_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_RE.fullmatch(value):
        raise PydanticCustomError(
            "datetime_not_iso8601",
            "give an ISO 8601 date or date-time, e.g. 2026-12-01 or 2026-12-01T09:30:00Z",
        )
    return value


def _as_utc(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "the date-time is outside the years 1-9999 in UTC"
        ) from None


IsoDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_as_utc),
    WithJsonSchema({
        "anyOf": [{"type": "string", "format": "date-time"},
                  {"type": "string", "format": "date"}],
        "description": "ISO 8601: a date-time (UTC unless it has an offset) or a date "
                       "(midnight UTC).",
    }),
]
"""An ISO 8601 date or date-time, as an aware UTC datetime."""


class ErrorBody(BaseModel):
    """What went wrong: `code` is stable and machine-readable; `message` is for people."""

    code: str = Field(description="e.g. validation_error, call_not_found, rate_limited")
    message: str
    details: Any = Field(
        default=None,
        description="validation_error: a list of {loc, msg, type}; other codes: an object "
                    "or null")


class ErrorResponse(BaseModel):
    """The one error shape of every route."""

    error: ErrorBody
