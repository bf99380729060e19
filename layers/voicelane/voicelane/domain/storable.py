"""What a stored record can hold: numbers DynamoDB can store, and bounded free-form JSON.

Every record ends up as a DynamoDB item, whose numbers have at most 38 significant digits and
a magnitude of 1E-130 to 9.99...E+125 (or zero), and whose maps nest at most 32 levels deep in
an item of at most 400 KB. A request value outside those bounds must be refused at the
contract (422) rather than fail in the serializer (500) after a partial write, so the request
models use the types below for every float and every free-form object they accept.

Pure: no boto3 (the 38-digit context mirrors `boto3.dynamodb.types.DYNAMODB_CONTEXT`).
"""

from __future__ import annotations

import json
import math
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictFloat, WithJsonSchema
from pydantic_core import PydanticCustomError

# DynamoDB's number type (same precision and traps as boto3's serializer).
_DYNAMO_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)
NUMBER_MIN_MAGNITUDE = Decimal("1E-130")
NUMBER_MAX_MAGNITUDE = Decimal("9.9999999999999999999999999999999999999E+125")
NUMBER_RULE = (
    "numbers have at most 38 significant digits and a magnitude of 1e-130 to 9.99e125 (or 0)"
)

# Free-form objects: nesting below their own top level, and keys (a map key is an attribute
# name: 1 character at least). A stored call holds its context inside its event snapshots,
# so the depth stays well under DynamoDB's 32 levels.
FREE_MAX_DEPTH = 16
FREE_MAX_KEY_LENGTH = 256

NUMBER_ERROR = "number_out_of_range"
DEPTH_ERROR = "json_too_deep"
SIZE_ERROR = "json_too_large"
KEY_ERROR = "json_key_invalid"


def storable_number(value: int | float) -> bool:
    """True when DynamoDB (and boto3's serializer) can store `value` exactly as it will be
    written (floats as their shortest repr)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return False
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if number.is_zero():
        return True
    try:
        _DYNAMO_CONTEXT.create_decimal(number)
    except ArithmeticError:
        return False
    return NUMBER_MIN_MAGNITUDE <= abs(number) <= NUMBER_MAX_MAGNITUDE


def _number_error(value: object) -> PydanticCustomError:
    return PydanticCustomError(
        NUMBER_ERROR, "{value} cannot be stored: " + NUMBER_RULE, {"value": str(value)}
    )


def check_number(value: float) -> float:
    """A validator for a typed float field (pydantic AfterValidator)."""
    if not storable_number(value):
        raise _number_error(value)
    return value


def check_free_json(value: Any, max_bytes: int, max_depth: int = FREE_MAX_DEPTH) -> None:
    """Raise a PydanticCustomError unless `value` is plain JSON that DynamoDB can store:
    storable numbers, non-empty keys, at most `max_depth` levels and `max_bytes` of UTF-8 JSON.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise PydanticCustomError(
                DEPTH_ERROR, "nested more than {max_depth} levels deep", {"max_depth": max_depth}
            )
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str) or not 1 <= len(key) <= FREE_MAX_KEY_LENGTH:
                    raise PydanticCustomError(
                        KEY_ERROR, "object keys have 1-{max} characters",
                        {"max": FREE_MAX_KEY_LENGTH},
                    )
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, int | float) and not storable_number(node):
            raise _number_error(node)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > max_bytes:
        raise PydanticCustomError(
            SIZE_ERROR, "larger than {max_bytes} bytes of JSON", {"max_bytes": max_bytes}
        )


def _free_object(max_bytes: int) -> AfterValidator:
    def validate(value: dict[str, Any]) -> dict[str, Any]:
        check_free_json(value, max_bytes)
        return value

    return AfterValidator(validate)


def _described(what: str, max_bytes: int) -> Any:
    return Field(description=f"{what} Free-form JSON: at most {max_bytes} bytes, "
                             f"{FREE_MAX_DEPTH} levels deep, keys of 1-{FREE_MAX_KEY_LENGTH} "
                             f"characters; {NUMBER_RULE}.")


_KEYS = WithJsonSchema({"type": "object", "additionalProperties": True,
                        "propertyNames": {"minLength": 1, "maxLength": FREE_MAX_KEY_LENGTH}})
CONTEXT_MAX_BYTES = 16_384
SCRIPT_MAX_BYTES = 65_536
TOOL_PARAMETERS_MAX_BYTES = 8_192
AGENT_MAX_BYTES = 131_072  # a call item holds its agent; an item is at most 400 KB

CallContext = Annotated[
    dict[str, Any], _free_object(CONTEXT_MAX_BYTES), _KEYS,
    _described("Data the call's agent and webhooks see.", CONTEXT_MAX_BYTES),
]
AgentScript = Annotated[
    dict[str, Any], _free_object(SCRIPT_MAX_BYTES), _KEYS,
    _described("Dialogue script for the `scripted` engine (states, intents).", SCRIPT_MAX_BYTES),
]
ToolParameters = Annotated[
    dict[str, Any], _free_object(TOOL_PARAMETERS_MAX_BYTES), _KEYS,
    _described("JSON Schema of the tool's arguments.", TOOL_PARAMETERS_MAX_BYTES),
]
NO_TINY: dict[str, Any] = {"not": {"exclusiveMinimum": 0, "exclusiveMaximum": 1e-130}}
"""JSON Schema for a float field that can be 0: nothing between 0 and 1e-130."""
StorableFloat = Annotated[StrictFloat, AfterValidator(check_number)]
"""A float a record can store (finite, within DynamoDB's range)."""


def _json_integer(value: Any) -> Any:
    # JSON Schema's integer is a number with no fraction (1 and 1.0), never true or "1",
    # which pydantic's lax int would take.
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


JSON_INTEGER = BeforeValidator(_json_integer)
"""Annotated metadata: after any Field constraints (`Annotated[int, Field(ge=1), JSON_INTEGER]`)
so the JSON schema still shows them as minimum/maximum."""
JsonInt = Annotated[int, JSON_INTEGER]
"""An integer as JSON Schema has it: 1 or 1.0, not true or "1"."""
