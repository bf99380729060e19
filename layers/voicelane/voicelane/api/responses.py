"""The error answers each route documents in the OpenAPI document.

Every error has the one shape (`contracts.common.ErrorResponse`); each documented status
lists, in `x-error-codes`, the codes the route can answer with it (and, for 422, the
`validation_error` detail types of rules JSON Schema cannot state). A 422 code other than
`validation_error` is a business rule: a request the schema cannot tell apart from a good one
(a `from` number the app does not own, an `agent_id` that does not exist, a cursor that no
page gave out). The API fuzz test (tests/voicelane/api/test_api_fuzz.py) holds the server to
these lists: any other status, or a schema-valid request refused with an unlisted code, fails.
"""

from __future__ import annotations

from typing import Any

from voicelane.contracts.common import ErrorResponse
from voicelane.domain.script import SCRIPT_INVALID, SCRIPT_UNKNOWN_TOOL
from voicelane.domain.storable import DEPTH_ERROR, KEY_ERROR, NUMBER_ERROR, SIZE_ERROR

_WHAT = {
    400: "Bad request",
    401: "No valid API key (`Authorization: Bearer sk_...` or `X-API-Key`)",
    403: "Not allowed for this app",
    404: "No such resource in this app (another app's ids answer 404 too)",
    409: "Conflicts with the resource's state",
    422: "Invalid input: `validation_error` (details: a list of {loc, msg, type}) or a "
         "business rule",
    429: "Rate limit (`Retry-After`) or quota exceeded",
    503: "A dependency is unavailable; retry later",
}

_DEFAULT_CODES = {
    401: ["invalid_api_key"],
    422: ["validation_error"],
    429: ["rate_limited"],
}

Responses = dict[int | str, dict[str, Any]]


def errors(*statuses: int, **codes: list[str]) -> Responses:
    """`responses=` for these statuses; `codes` adds codes by status (`e409=["number_taken"]`).
    401, 422 and 429 always carry their default codes."""
    out: Responses = {}
    extra = {int(key.removeprefix("e")): value for key, value in codes.items()}
    for status in sorted(set(statuses) | set(extra)):
        listed = [*_DEFAULT_CODES.get(status, []), *extra.get(status, [])]
        text = _WHAT[status]
        if listed:
            text += ": " + ", ".join(f"`{c}`" for c in listed)
        out[status] = {"model": ErrorResponse, "description": text, "x-error-codes": listed}
    return out


FREE_FORM = [NUMBER_ERROR, DEPTH_ERROR, SIZE_ERROR, KEY_ERROR]
"""`validation_error` detail types of free-form JSON fields (context, script, tool parameters):
limits of what a record can store that JSON Schema cannot state for any nesting (the fields'
descriptions do)."""

AGENT_RULES = ["tool_url_not_allowed", SCRIPT_INVALID, SCRIPT_UNKNOWN_TOOL,
               "machine_detection_message_required", *FREE_FORM]
"""422 codes of an agent's configuration, wherever one is accepted (agents, inline agents on
calls and sessions): one list, so a new agent rule is documented on every route at once."""

AUTHENTICATED = errors(401, 422, 429)
"""What every authenticated route can answer: no key, bad input, over its rate limit."""
